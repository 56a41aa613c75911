/* safetensors: the on-disk tensor container. Owns parsing and validating a
 * file image (header length, JSON header via jansson, offsets, coverage),
 * decoding F32/F16/BF16 to float, and writing files atomically. */
#include "safetensors.h"

#include "error.h"
#include "float_bits.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header this large is not a weight file; refuse before handing it to the
 * JSON parser (the real ones are a few hundred kilobytes at most). */
#define MAX_HEADER_BYTES ((uint64_t) 100 * 1000 * 1000)

/* Names in messages are cut so that a hostile 1 MB key cannot push the rest
 * of the message (byte ranges, sizes) out of irc_error's 512 bytes. */
#define NAME_MAX_SHOWN 120
#define FILE_MAX_SHOWN 160

struct irc_st_file {
  char *name;
  unsigned char *image;         /* the whole file; tensors point into it */
  size_t size;
  irc_st_tensor *tensors;       /* sorted by data offset, i.e. file order */
  size_t n_tensors;
  size_t *by_name;              /* tensor indices sorted by name, for find */
  char **meta_keys;
  char **meta_values;
  size_t n_meta;
};

typedef struct {
  char *name;
  irc_dtype dtype;
  int ndim;
  int64_t shape[IRC_ST_MAX_DIMS];
  unsigned char *bytes;
  size_t nbytes;
} writer_entry;

struct irc_st_writer {
  writer_entry *entries;
  size_t n_entries, cap_entries;
  char **meta_keys;
  char **meta_values;
  size_t n_meta, cap_meta;
};

/* ---------------------------------------------------------------- dtypes */

static size_t
dtype_size (irc_dtype d)
{
  switch (d) {
    case IRC_DTYPE_F32: return 4;
    case IRC_DTYPE_F16: return 2;
    case IRC_DTYPE_BF16: return 2;
    case IRC_DTYPE_I64: return 8;
  }
  return 0;
}

static const char *
dtype_name (irc_dtype d)
{
  switch (d) {
    case IRC_DTYPE_F32: return "F32";
    case IRC_DTYPE_F16: return "F16";
    case IRC_DTYPE_BF16: return "BF16";
    case IRC_DTYPE_I64: return "I64";
  }
  return "?";
}

static int
dtype_from_name (const char *s, irc_dtype *out)
{
  static const irc_dtype all[] = { IRC_DTYPE_F32, IRC_DTYPE_F16, IRC_DTYPE_BF16,
    IRC_DTYPE_I64 };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp (s, dtype_name (all[i])) == 0) {
      *out = all[i];
      return 1;
    }
  }
  return 0;
}

/* Byte-wise little-endian loads: independent of host order and alignment. */
static uint16_t
load_le16 (const unsigned char *p)
{
  return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
load_le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16)
      | ((uint32_t) p[3] << 24);
}

static uint64_t
load_le64 (const unsigned char *p)
{
  return (uint64_t) load_le32 (p) | ((uint64_t) load_le32 (p + 4) << 32);
}

static void
store_le16 (unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char) v;
  p[1] = (unsigned char) (v >> 8);
}

static void
store_le32 (unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

static void
store_le64 (unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char) (v >> (8 * i));
}

/* Integer-only conversions, so that the result does not depend on the FPU
 * rounding mode or on flush-to-zero flags a caller may have set. */
float
irc_half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;

  if (exp == 0) {
    if (mant == 0)
      return bits_to_float (sign);
    /* subnormal: normalise the mantissa into an f32 normal */
    int e = -1;
    do {
      mant <<= 1;
      e++;
    } while (!(mant & 0x400));
    mant &= 0x3ff;
    return bits_to_float (sign | ((uint32_t) (127 - 15 - e) << 23) | (mant << 13));
  }
  if (exp == 31)
    return bits_to_float (sign | 0x7f800000u | (mant << 13));
  return bits_to_float (sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

uint16_t
irc_float_to_half (float f)
{
  uint32_t x = float_to_bits (f);
  uint16_t sign = (uint16_t) ((x >> 16) & 0x8000);
  x &= 0x7fffffffu;

  if (x > 0x7f800000u) {
    /* NaN: keep the top payload bits, force quiet so it stays a NaN */
    return (uint16_t) (sign | 0x7e00 | ((x >> 13) & 0x3ff));
  }
  if (x >= 0x477ff000u)
    /* >= 65520 (halfway past the largest half, 65504) rounds to infinity */
    return (uint16_t) (sign | 0x7c00);
  if (x < 0x38800000u) {
    /* below 2^-14: a half subnormal, value = q * 2^-24 */
    uint32_t exp = x >> 23;
    if (exp < 102)
      return sign;              /* below 2^-25: rounds to zero */
    uint32_t mant = (x & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - exp; /* 14..24 */
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
      q++;                      /* may carry into the smallest normal: fine */
    return (uint16_t) (sign | q);
  }
  /* normal: rebias the exponent, round the 13 dropped bits to nearest even */
  uint32_t odd = (x >> 13) & 1;
  x += ((uint32_t) (15 - 127) << 23) + 0xfff + odd;
  return (uint16_t) (sign | (x >> 13));
}

/* ---------------------------------------------------------------- helpers */

static char *
dup_string (const char *s)
{
  size_t n = strlen (s) + 1;
  char *d = malloc (n);
  if (d)
    memcpy (d, s, n);
  return d;
}

/* Writes "[2, 3, 4]" into @buf (always NUL-terminated, cut when too long). */
static void
format_shape (char *buf, size_t size, int ndim, const int64_t *shape)
{
  size_t used = 0;
  int n = snprintf (buf, size, "[");
  for (int i = 0; i < ndim && n >= 0; i++) {
    used += (size_t) n;
    if (used >= size)
      return;
    n = snprintf (buf + used, size - used, "%s%lld", i ? ", " : "",
        (long long) shape[i]);
  }
  if (n >= 0 && used + (size_t) n < size)
    snprintf (buf + used + (size_t) n, size - used - (size_t) n, "]");
}

/* Element count of a shape, checking that count * elem_size fits in size_t
 * even when a zero dimension would hide an absurd one. */
static int
shape_count (int ndim, const int64_t *shape, size_t elem_size, size_t *count)
{
  size_t limit = SIZE_MAX / elem_size;
  size_t product = 1;
  int zero = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return 0;
    if (shape[i] == 0) {
      zero = 1;
      continue;
    }
    if ((uint64_t) shape[i] > limit / product)
      return 0;
    product *= (size_t) shape[i];
  }
  *count = zero ? 0 : product;
  return 1;
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
  irc_st_tensor t;
  size_t order;                 /* position in the JSON object */
} parsed_entry;

static int
compare_offsets (const void *a, const void *b)
{
  const parsed_entry *x = a, *y = b;
  if (x->t.begin != y->t.begin)
    return x->t.begin < y->t.begin ? -1 : 1;
  if (x->t.end != y->t.end)
    return x->t.end < y->t.end ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* qsort has no user pointer, so the name index is sorted as (name, index)
 * pairs and then reduced to the indices. */
typedef struct {
  const char *name;
  size_t index;
} name_slot;

static int
compare_names (const void *a, const void *b)
{
  const name_slot *x = a, *y = b;
  return strcmp (x->name, y->name);
}

void
irc_st_close (irc_st_file **file)
{
  if (!file || !*file)
    return;
  irc_st_file *f = *file;
  for (size_t i = 0; i < f->n_tensors; i++)
    free ((char *) f->tensors[i].name);
  for (size_t i = 0; i < f->n_meta; i++) {
    free (f->meta_keys[i]);
    free (f->meta_values[i]);
  }
  free (f->tensors);
  free (f->by_name);
  free (f->meta_keys);
  free (f->meta_values);
  free (f->image);
  free (f->name);
  free (f);
  *file = NULL;
}

/* Reads one tensor entry @value called @key into @e, or fails naming it. */
static irc_status
parse_entry (const char *fname, const char *key, json_t *value, size_t data_size,
    parsed_entry *e, irc_error *err)
{
  const int fw = FILE_MAX_SHOWN, nw = NAME_MAX_SHOWN;

  if (!json_is_object (value))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': entry is not a JSON object", fw, fname, nw, key);

  json_t *jd = json_object_get (value, "dtype");
  if (!jd)
    return irc_fail (err, IRC_ERR_FORMAT, "%.*s: tensor '%.*s': no dtype",
        fw, fname, nw, key);
  if (!json_is_string (jd))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': dtype is not a string", fw, fname, nw, key);
  if (!dtype_from_name (json_string_value (jd), &e->t.dtype))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': unsupported dtype '%.*s' (accepted: F32, F16, BF16, I64)",
        fw, fname, nw, key, 16, json_string_value (jd));

  json_t *js = json_object_get (value, "shape");
  if (!js)
    return irc_fail (err, IRC_ERR_FORMAT, "%.*s: tensor '%.*s': no shape",
        fw, fname, nw, key);
  if (!json_is_array (js))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': shape is not an array", fw, fname, nw, key);
  size_t ndim = json_array_size (js);
  if (ndim > IRC_ST_MAX_DIMS)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': shape has %zu dimensions (at most %d supported)",
        fw, fname, nw, key, ndim, IRC_ST_MAX_DIMS);
  e->t.ndim = (int) ndim;
  for (size_t i = 0; i < ndim; i++) {
    json_t *d = json_array_get (js, i);
    if (!json_is_integer (d) || json_integer_value (d) < 0)
      return irc_fail (err, IRC_ERR_FORMAT,
          "%.*s: tensor '%.*s': shape dimension %zu is not a non-negative integer",
          fw, fname, nw, key, i);
    e->t.shape[i] = (int64_t) json_integer_value (d);
  }
  char shape_text[160];
  format_shape (shape_text, sizeof shape_text, e->t.ndim, e->t.shape);
  size_t esize = dtype_size (e->t.dtype);
  if (!shape_count (e->t.ndim, e->t.shape, esize, &e->t.count))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': shape %s has too many elements",
        fw, fname, nw, key, shape_text);

  json_t *jo = json_object_get (value, "data_offsets");
  if (!jo)
    return irc_fail (err, IRC_ERR_FORMAT, "%.*s: tensor '%.*s': no data_offsets",
        fw, fname, nw, key);
  json_t *jb = json_array_get (jo, 0), *je = json_array_get (jo, 1);
  if (!json_is_array (jo) || json_array_size (jo) != 2
      || !json_is_integer (jb) || !json_is_integer (je)
      || json_integer_value (jb) < 0 || json_integer_value (je) < 0)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': data_offsets is not a pair of non-negative integers",
        fw, fname, nw, key);
  unsigned long long begin = (unsigned long long) json_integer_value (jb);
  unsigned long long end = (unsigned long long) json_integer_value (je);
  if (begin > end)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': data_offsets [%llu, %llu) end before begin",
        fw, fname, nw, key, begin, end);
  if (end > (unsigned long long) data_size)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': data_offsets [%llu, %llu) end past the data section (%zu "
        "bytes): truncated file?",
        fw, fname, nw, key, begin, end, data_size);
  e->t.begin = (size_t) begin;
  e->t.end = (size_t) end;
  /* no overflow: shape_count checked count * esize against SIZE_MAX */
  size_t expected = e->t.count * esize;
  if (e->t.end - e->t.begin != expected)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: tensor '%.*s': %s shape %s needs %zu bytes, but data_offsets [%zu, %zu) hold %zu",
        fw, fname, nw, key, dtype_name (e->t.dtype), shape_text, expected,
        e->t.begin, e->t.end, e->t.end - e->t.begin);
  return IRC_OK;
}

static irc_status
parse_metadata (irc_st_file *f, json_t *meta, irc_error *err)
{
  const int fw = FILE_MAX_SHOWN, nw = NAME_MAX_SHOWN;
  if (!json_is_object (meta))
    return irc_fail (err, IRC_ERR_FORMAT, "%.*s: __metadata__ is not a JSON object",
        fw, f->name);
  size_t n = json_object_size (meta);
  if (n == 0)
    return IRC_OK;
  f->meta_keys = calloc (n, sizeof *f->meta_keys);
  f->meta_values = calloc (n, sizeof *f->meta_values);
  if (!f->meta_keys || !f->meta_values)
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for metadata", fw, f->name);
  const char *key;
  json_t *value;
  json_object_foreach (meta, key, value) {
    /* the format says string to string; a number or object here means the
     * writer is not what we think it is */
    if (!json_is_string (value))
      return irc_fail (err, IRC_ERR_FORMAT,
          "%.*s: __metadata__ value '%.*s' is not a string", fw, f->name, nw, key);
    char *k = dup_string (key), *v = dup_string (json_string_value (value));
    if (!k || !v) {
      free (k);
      free (v);
      return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for metadata",
          fw, f->name);
    }
    f->meta_keys[f->n_meta] = k;
    f->meta_values[f->n_meta] = v;
    f->n_meta++;
  }
  return IRC_OK;
}

/* Checks that the sorted ranges tile [0, data_size) exactly. */
static irc_status
check_coverage (const char *fname, const parsed_entry *e, size_t n, size_t data_size,
    irc_error *err)
{
  const int fw = FILE_MAX_SHOWN, nw = NAME_MAX_SHOWN;
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    const irc_st_tensor *t = &e[i].t;
    if (t->begin < pos) {
      /* sorted by begin, so the culprit is the previous non-empty range */
      const irc_st_tensor *p = &e[i - 1].t;
      for (size_t j = i; j-- > 0;) {
        if (e[j].t.end > t->begin) {
          p = &e[j].t;
          break;
        }
      }
      return irc_fail (err, IRC_ERR_FORMAT,
          "%.*s: tensors '%.*s' [%zu, %zu) and '%.*s' [%zu, %zu) overlap",
          fw, fname, nw, p->name, p->begin, p->end, nw, t->name, t->begin, t->end);
    }
    if (t->begin > pos) {
      if (i == 0)
        return irc_fail (err, IRC_ERR_FORMAT,
            "%.*s: data bytes [%zu, %zu) are not covered by any tensor (before '%.*s')",
            fw, fname, pos, t->begin, nw, t->name);
      return irc_fail (err, IRC_ERR_FORMAT,
          "%.*s: data bytes [%zu, %zu) are not covered by any tensor (between '%.*s' and '%.*s')",
          fw, fname, pos, t->begin, nw, e[i - 1].t.name, nw, t->name);
    }
    pos = t->end;
  }
  if (pos != data_size) {
    if (n == 0)
      return irc_fail (err, IRC_ERR_FORMAT,
          "%.*s: data bytes [%zu, %zu) are not covered by any tensor (the file has none)",
          fw, fname, pos, data_size);
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: data bytes [%zu, %zu) are not covered by any tensor (after '%.*s')",
        fw, fname, pos, data_size, nw, e[n - 1].t.name);
  }
  return IRC_OK;
}

/* Validates @f->image (already owned by @f) and fills the tensor table. */
static irc_status
parse_image (irc_st_file *f, irc_error *err)
{
  const int fw = FILE_MAX_SHOWN, nw = NAME_MAX_SHOWN;
  const char *fname = f->name;

  if (f->size < 8)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: file is %zu bytes, too short for the 8-byte header length",
        fw, fname, f->size);
  uint64_t hlen = load_le64 (f->image);
  /* absurd first: random bytes (an image, a zip) land here whatever the
   * file size, and the message should say so */
  if (hlen > MAX_HEADER_BYTES)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: header length %llu is absurd (more than %llu bytes; the file is %zu "
        "bytes): not a safetensors file?",
        fw, fname, (unsigned long long) hlen, (unsigned long long) MAX_HEADER_BYTES,
        f->size);
  if (hlen > (uint64_t) (f->size - 8))
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: header length %llu runs past the end of the file (%zu bytes, so at "
        "most %zu after the length field): truncated?",
        fw, fname, (unsigned long long) hlen, f->size, f->size - 8);

  const unsigned char *data = f->image + 8 + hlen;
  size_t data_size = f->size - 8 - (size_t) hlen;

  json_error_t jerr;
  json_t *root = json_loadb ((const char *) f->image + 8, (size_t) hlen,
      JSON_REJECT_DUPLICATES, &jerr);
  /* jansson leaves the error text empty when its lexer cannot even allocate */
  if (!root && (json_error_code (&jerr) == json_error_out_of_memory || !jerr.text[0]))
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory parsing the header", fw, fname);
  if (!root)
    return irc_fail (err, IRC_ERR_FORMAT,
        "%.*s: header is not valid JSON (line %d, column %d): %s",
        fw, fname, jerr.line, jerr.column, jerr.text);

  irc_status st = IRC_OK;
  parsed_entry *entries = NULL;
  name_slot *names = NULL;
  size_t n = 0;

  if (!json_is_object (root)) {
    st = irc_fail (err, IRC_ERR_FORMAT, "%.*s: header is not a JSON object", fw, fname);
    goto out;
  }

  json_t *meta = json_object_get (root, "__metadata__");
  if (meta && (st = parse_metadata (f, meta, err)) != IRC_OK)
    goto out;

  size_t cap = json_object_size (root) - (meta ? 1 : 0);
  entries = calloc (cap ? cap : 1, sizeof *entries);
  if (!entries) {
    st = irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for %zu tensors", fw, fname, cap);
    goto out;
  }

  const char *key;
  json_t *value;
  json_object_foreach (root, key, value) {
    if (strcmp (key, "__metadata__") == 0)
      continue;
    parsed_entry *e = &entries[n];
    if ((st = parse_entry (fname, key, value, data_size, e, err)) != IRC_OK)
      goto out;
    e->order = n;
    e->t.name = key;            /* jansson's copy, replaced below */
    e->t.data = data + e->t.begin;
    n++;
  }

  qsort (entries, n, sizeof *entries, compare_offsets);
  if ((st = check_coverage (fname, entries, n, data_size, err)) != IRC_OK)
    goto out;

  f->tensors = calloc (n ? n : 1, sizeof *f->tensors);
  f->by_name = calloc (n ? n : 1, sizeof *f->by_name);
  names = calloc (n ? n : 1, sizeof *names);
  if (!f->tensors || !f->by_name || !names) {
    st = irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for %zu tensors", fw, fname, n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    f->tensors[i] = entries[i].t;
    f->tensors[i].name = dup_string (entries[i].t.name);
    if (!f->tensors[i].name) {
      st = irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for tensor '%.*s'",
          fw, fname, nw, entries[i].t.name);
      goto out;
    }
    f->n_tensors = i + 1;
    names[i].name = f->tensors[i].name;
    names[i].index = i;
  }
  qsort (names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++)
    f->by_name[i] = names[i].index;

out:
  free (names);
  free (entries);
  json_decref (root);
  return st;
}

/* Takes ownership of @image (malloc'd, @size bytes) whatever the outcome. */
static irc_status
parse_owned (unsigned char *image, size_t size, const char *name, irc_st_file **out,
    irc_error *err)
{
  irc_st_file *f = calloc (1, sizeof *f);
  if (!f) {
    free (image);
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory", FILE_MAX_SHOWN, name);
  }
  f->image = image;
  f->size = size;
  f->name = dup_string (name);
  if (!f->name) {
    irc_st_close (&f);
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory", FILE_MAX_SHOWN, name);
  }
  irc_status st = parse_image (f, err);
  if (st != IRC_OK) {
    irc_st_close (&f);
    return st;
  }
  *out = f;
  return IRC_OK;
}

irc_status
irc_st_parse (const void *data, size_t size, const char *name, irc_st_file **out,
    irc_error *err)
{
  if (!name)
    name = "<memory>";
  if (!out || (!data && size))
    return irc_fail (err, IRC_ERR_INVALID, "%.*s: irc_st_parse: NULL argument",
        FILE_MAX_SHOWN, name);
  *out = NULL;
  unsigned char *copy = malloc (size ? size : 1);
  if (!copy)
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for %zu bytes",
        FILE_MAX_SHOWN, name, size);
  if (size)
    memcpy (copy, data, size);
  return parse_owned (copy, size, name, out, err);
}

/* The data section's size that a header claims: the largest data_offsets
 * end. 0 when the header is not a JSON object; parse_image() then says what
 * is wrong with it. */
static uint64_t
claimed_data_size (const unsigned char *header, size_t size)
{
  json_t *root = json_loadb ((const char *) header, size, 0, NULL);
  uint64_t end = 0;
  const char *key;
  json_t *value;
  if (json_is_object (root)) {
    json_object_foreach (root, key, value) {
      json_t *e = json_array_get (json_object_get (value, "data_offsets"), 1);
      if (json_is_integer (e) && json_integer_value (e) > 0
          && (uint64_t) json_integer_value (e) > end)
        end = (uint64_t) json_integer_value (e);
    }
  }
  json_decref (root);
  return end;
}

irc_status
irc_st_open (const char *path, irc_st_file **out, irc_error *err)
{
  const int fw = FILE_MAX_SHOWN;
  if (!path || !out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_st_open: NULL argument");
  *out = NULL;

  int fd;
  do
    fd = open (path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return irc_fail (err, IRC_ERR_IO, "%.*s: cannot open: %s", fw, path, strerror (errno));

  struct stat sb;
  if (fstat (fd, &sb) != 0) {
    int e = errno;
    close (fd);
    return irc_fail (err, IRC_ERR_IO, "%.*s: cannot stat: %s", fw, path, strerror (e));
  }
  if (S_ISDIR (sb.st_mode)) {
    close (fd);
    return irc_fail (err, IRC_ERR_IO, "%.*s: is a directory", fw, path);
  }

  /* read to EOF rather than trusting st_size: pipes report 0 and a file may
   * change under us. A pipe or a device may also never end (/dev/zero): from
   * those, the length field first, then the header, then only the data bytes
   * the header claims (and one more, to see trailing bytes). */
  const int stream = !S_ISREG (sb.st_mode);
  size_t limit = stream ? 8 : SIZE_MAX;
  int stage = 0;                /* stream: 0 length field, 1 header, 2 data */
  size_t cap = sb.st_size > 0 ? (size_t) sb.st_size + 1 : 65536, used = 0;
  unsigned char *buf = malloc (cap);
  if (!buf) {
    close (fd);
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory for %zu bytes", fw, path, cap);
  }
  for (;;) {
    if (used == limit && stage == 0) {
      const uint64_t hlen = load_le64 (buf);
      if (hlen > MAX_HEADER_BYTES) {
        free (buf);
        close (fd);
        return irc_fail (err, IRC_ERR_FORMAT,
            "%.*s: header length %llu is absurd (more than %llu bytes): not a safetensors "
            "file?", fw, path, (unsigned long long) hlen,
            (unsigned long long) MAX_HEADER_BYTES);
      }
      limit = 8 + (size_t) hlen;
      stage = 1;
    }
    if (used == limit && stage == 1) {
      const uint64_t d = claimed_data_size (buf + 8, used - 8);
      limit = d < (uint64_t) (SIZE_MAX - limit - 1) ? limit + (size_t) d + 1 : SIZE_MAX;
      stage = 2;
    }
    if (used == limit)
      break;
    if (used == cap) {
      size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
      unsigned char *nb = ncap > cap ? realloc (buf, ncap) : NULL;
      if (!nb) {
        free (buf);
        close (fd);
        return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory reading the file",
            fw, path);
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read (fd, buf + used, limit - used < cap - used ? limit - used : cap - used);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      free (buf);
      close (fd);
      return irc_fail (err, IRC_ERR_IO, "%.*s: read error: %s", fw, path, strerror (e));
    }
    if (r == 0)
      break;
    used += (size_t) r;
  }
  close (fd);
  return parse_owned (buf, used, path, out, err);
}

/* ---------------------------------------------------------------- access */

size_t
irc_st_count (const irc_st_file *file)
{
  return file ? file->n_tensors : 0;
}

const irc_st_tensor *
irc_st_at (const irc_st_file *file, size_t index)
{
  if (!file || index >= file->n_tensors)
    return NULL;
  return &file->tensors[index];
}

const irc_st_tensor *
irc_st_find (const irc_st_file *file, const char *name)
{
  if (!file || !name)
    return NULL;
  size_t lo = 0, hi = file->n_tensors;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const irc_st_tensor *t = &file->tensors[file->by_name[mid]];
    int c = strcmp (name, t->name);
    if (c == 0)
      return t;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

const char *
irc_st_name (const irc_st_file *file)
{
  return file ? file->name : NULL;
}

const char *
irc_st_metadata (const irc_st_file *file, const char *key)
{
  if (!file || !key)
    return NULL;
  for (size_t i = 0; i < file->n_meta; i++)
    if (strcmp (file->meta_keys[i], key) == 0)
      return file->meta_values[i];
  return NULL;
}

size_t
irc_st_metadata_count (const irc_st_file *file)
{
  return file ? file->n_meta : 0;
}

void
irc_st_metadata_at (const irc_st_file *file, size_t index, const char **key,
    const char **value)
{
  int ok = file && index < file->n_meta;
  if (key)
    *key = ok ? file->meta_keys[index] : NULL;
  if (value)
    *value = ok ? file->meta_values[index] : NULL;
}

irc_status
irc_st_read_f32 (const irc_st_file *file, const irc_st_tensor *t, float *dst,
    irc_error *err)
{
  const int fw = FILE_MAX_SHOWN, nw = NAME_MAX_SHOWN;
  const char *fname = file ? file->name : "<safetensors>";
  if (!t || (!dst && t->count))
    return irc_fail (err, IRC_ERR_INVALID, "%.*s: irc_st_read_f32: NULL argument",
        fw, fname);

  const unsigned char *p = t->data;
  switch (t->dtype) {
    case IRC_DTYPE_F32:
      for (size_t i = 0; i < t->count; i++)
        dst[i] = bits_to_float (load_le32 (p + 4 * i));
      break;
    case IRC_DTYPE_F16:
      for (size_t i = 0; i < t->count; i++)
        dst[i] = irc_half_to_float (load_le16 (p + 2 * i));
      break;
    case IRC_DTYPE_BF16:
      for (size_t i = 0; i < t->count; i++)
        dst[i] = bits_to_float ((uint32_t) load_le16 (p + 2 * i) << 16);
      break;
    case IRC_DTYPE_I64:
    default:
      return irc_fail (err, IRC_ERR_MODEL,
          "%.*s: tensor '%.*s': dtype %s cannot be read as float (F32, F16 or BF16 expected)",
          fw, fname, nw, t->name, dtype_name (t->dtype));
  }

  /* one pass after conversion: the exponent test is cheap and catches all
   * three encodings at once */
  for (size_t i = 0; i < t->count; i++) {
    uint32_t u = float_to_bits (dst[i]);
    if ((u & 0x7f800000u) == 0x7f800000u) {
      const char *what = (u & 0x7fffffu) ? "NaN" : (u >> 31) ? "-Inf" : "+Inf";
      return irc_fail (err, IRC_ERR_MODEL, "%.*s: tensor '%.*s': element %zu is %s",
          fw, fname, nw, t->name, i, what);
    }
  }
  return IRC_OK;
}

/* ---------------------------------------------------------------- writer */

irc_status
irc_st_writer_new (irc_st_writer **out, irc_error *err)
{
  if (!out)
    return irc_fail (err, IRC_ERR_INVALID, "irc_st_writer_new: NULL argument");
  *out = calloc (1, sizeof **out);
  if (!*out)
    return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: out of memory");
  return IRC_OK;
}

void
irc_st_writer_free (irc_st_writer **w)
{
  if (!w || !*w)
    return;
  irc_st_writer *x = *w;
  for (size_t i = 0; i < x->n_entries; i++) {
    free (x->entries[i].name);
    free (x->entries[i].bytes);
  }
  for (size_t i = 0; i < x->n_meta; i++) {
    free (x->meta_keys[i]);
    free (x->meta_values[i]);
  }
  free (x->entries);
  free (x->meta_keys);
  free (x->meta_values);
  free (x);
  *w = NULL;
}

/* A string jansson will accept as a key or value (valid UTF-8). */
static int
valid_json_string (const char *s)
{
  json_t *j = json_string (s);
  json_decref (j);
  return j != NULL;
}

irc_status
irc_st_writer_metadata (irc_st_writer *w, const char *key, const char *value,
    irc_error *err)
{
  if (!w || !key || !value)
    return irc_fail (err, IRC_ERR_INVALID, "safetensors writer: NULL metadata argument");
  if (!valid_json_string (key) || !valid_json_string (value))
    return irc_fail (err, IRC_ERR_INVALID,
        "safetensors writer: metadata '%.*s' is not valid UTF-8", NAME_MAX_SHOWN, key);
  char *v = dup_string (value);
  if (!v)
    return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: out of memory");
  /* setting a key twice replaces its value, like a dict */
  for (size_t i = 0; i < w->n_meta; i++) {
    if (strcmp (w->meta_keys[i], key) == 0) {
      free (w->meta_values[i]);
      w->meta_values[i] = v;
      return IRC_OK;
    }
  }
  if (w->n_meta == w->cap_meta) {
    size_t ncap = w->cap_meta ? 2 * w->cap_meta : 8;
    char **nk = realloc (w->meta_keys, ncap * sizeof *nk);
    if (nk)
      w->meta_keys = nk;
    char **nv = nk ? realloc (w->meta_values, ncap * sizeof *nv) : NULL;
    if (nv)
      w->meta_values = nv;
    if (!nk || !nv) {
      free (v);
      return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->cap_meta = ncap;
  }
  char *k = dup_string (key);
  if (!k) {
    free (v);
    return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: out of memory");
  }
  w->meta_keys[w->n_meta] = k;
  w->meta_values[w->n_meta] = v;
  w->n_meta++;
  return IRC_OK;
}

/* Checks name and shape, reserves a slot; the caller fills bytes. */
static irc_status
writer_add (irc_st_writer *w, const char *name, irc_dtype dtype, int ndim,
    const int64_t *shape, int have_data, writer_entry **slot, size_t *count,
    irc_error *err)
{
  const int nw = NAME_MAX_SHOWN;
  if (!w || !name || (ndim > 0 && !shape))
    return irc_fail (err, IRC_ERR_INVALID, "safetensors writer: NULL argument");
  if (strcmp (name, "__metadata__") == 0 || !valid_json_string (name))
    return irc_fail (err, IRC_ERR_INVALID,
        "safetensors writer: '%.*s' is not a valid tensor name", nw, name);
  if (ndim < 0 || ndim > IRC_ST_MAX_DIMS)
    return irc_fail (err, IRC_ERR_INVALID,
        "safetensors writer: tensor '%.*s': %d dimensions (0 to %d supported)",
        nw, name, ndim, IRC_ST_MAX_DIMS);
  if (!shape_count (ndim, shape, dtype_size (dtype), count))
    return irc_fail (err, IRC_ERR_INVALID,
        "safetensors writer: tensor '%.*s': negative or too large shape", nw, name);
  if (*count && !have_data)
    return irc_fail (err, IRC_ERR_INVALID,
        "safetensors writer: tensor '%.*s': NULL data", nw, name);
  for (size_t i = 0; i < w->n_entries; i++)
    if (strcmp (w->entries[i].name, name) == 0)
      return irc_fail (err, IRC_ERR_INVALID,
          "safetensors writer: tensor '%.*s' added twice", nw, name);
  if (w->n_entries == w->cap_entries) {
    size_t ncap = w->cap_entries ? 2 * w->cap_entries : 64;
    writer_entry *ne = realloc (w->entries, ncap * sizeof *ne);
    if (!ne)
      return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: out of memory");
    w->entries = ne;
    w->cap_entries = ncap;
  }
  writer_entry *e = &w->entries[w->n_entries];
  memset (e, 0, sizeof *e);
  e->dtype = dtype;
  e->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    e->shape[i] = shape[i];
  e->nbytes = *count * dtype_size (dtype);
  e->name = dup_string (name);
  e->bytes = malloc (e->nbytes ? e->nbytes : 1);
  if (!e->name || !e->bytes) {
    free (e->name);
    free (e->bytes);
    return irc_fail (err, IRC_ERR_NOMEM, "safetensors writer: tensor '%.*s': out of memory",
        nw, name);
  }
  *slot = e;
  return IRC_OK;
}

static void
writer_drop_last (irc_st_writer *w)
{
  writer_entry *e = &w->entries[w->n_entries];
  free (e->name);
  free (e->bytes);
}

irc_status
irc_st_writer_add_f32 (irc_st_writer *w, const char *name, int ndim,
    const int64_t *shape, const float *data, int fp16, irc_error *err)
{
  writer_entry *e;
  size_t count;
  irc_dtype dt = fp16 ? IRC_DTYPE_F16 : IRC_DTYPE_F32;
  irc_status st = writer_add (w, name, dt, ndim, shape, data != NULL, &e, &count, err);
  if (st != IRC_OK)
    return st;
  /* the reader refuses non-finite values, so refuse to write a file that
   * could not be read back; F16 also overflows past 65504 */
  for (size_t i = 0; i < count; i++) {
    uint32_t u = float_to_bits (data[i]);
    if ((u & 0x7f800000u) == 0x7f800000u) {
      writer_drop_last (w);
      return irc_fail (err, IRC_ERR_INVALID,
          "safetensors writer: tensor '%.*s': element %zu is not finite",
          NAME_MAX_SHOWN, name, i);
    }
    if (fp16) {
      uint16_t h = irc_float_to_half (data[i]);
      if ((h & 0x7c00) == 0x7c00) {
        writer_drop_last (w);
        return irc_fail (err, IRC_ERR_INVALID,
            "safetensors writer: tensor '%.*s': element %zu (%g) is out of F16 range",
            NAME_MAX_SHOWN, name, i, (double) data[i]);
      }
      store_le16 (e->bytes + 2 * i, h);
    } else {
      store_le32 (e->bytes + 4 * i, u);
    }
  }
  w->n_entries++;
  return IRC_OK;
}

irc_status
irc_st_writer_add_i64 (irc_st_writer *w, const char *name, int ndim,
    const int64_t *shape, const int64_t *data, irc_error *err)
{
  writer_entry *e;
  size_t count;
  irc_status st = writer_add (w, name, IRC_DTYPE_I64, ndim, shape, data != NULL, &e,
      &count, err);
  if (st != IRC_OK)
    return st;
  for (size_t i = 0; i < count; i++)
    store_le64 (e->bytes + 8 * i, (uint64_t) data[i]);
  w->n_entries++;
  return IRC_OK;
}

/* The JSON header: __metadata__ first, then tensors in insertion order
 * (jansson keeps insertion order since 2.8). Returns a malloc'd string. */
static char *
writer_header (const irc_st_writer *w)
{
  json_t *root = json_object ();
  int ok = root != NULL;
  if (ok && w->n_meta) {
    json_t *meta = json_object ();
    ok = meta && json_object_set_new (root, "__metadata__", meta) == 0;
    for (size_t i = 0; ok && i < w->n_meta; i++)
      ok = json_object_set_new (meta, w->meta_keys[i],
          json_string (w->meta_values[i])) == 0;
  }
  size_t off = 0;
  for (size_t i = 0; ok && i < w->n_entries; i++) {
    const writer_entry *e = &w->entries[i];
    json_t *entry = json_object ();
    json_t *shape = json_array ();
    json_t *offsets = json_array ();
    /* hand every value to its parent first, so one decref of root frees
     * everything whatever fails later */
    ok = entry && json_object_set_new (root, e->name, entry) == 0;
    ok = ok && shape && json_object_set_new (entry, "shape", shape) == 0;
    ok = ok && offsets && json_object_set_new (entry, "data_offsets", offsets) == 0;
    if (!ok) {
      json_decref (entry);
      json_decref (shape);
      json_decref (offsets);
      break;
    }
    ok = json_object_set_new (entry, "dtype", json_string (dtype_name (e->dtype))) == 0;
    for (int d = 0; ok && d < e->ndim; d++)
      ok = json_array_append_new (shape, json_integer (e->shape[d])) == 0;
    ok = ok && json_array_append_new (offsets, json_integer ((json_int_t) off)) == 0
        && json_array_append_new (offsets,
        json_integer ((json_int_t) (off + e->nbytes))) == 0;
    off += e->nbytes;
  }
  char *text = ok ? json_dumps (root, JSON_COMPACT) : NULL;
  json_decref (root);
  return text;
}

static int
write_all (int fd, const void *buf, size_t n)
{
  const unsigned char *p = buf;
  while (n) {
    ssize_t r = write (fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    p += r;
    n -= (size_t) r;
  }
  return 1;
}

/* Makes the rename itself durable. Best effort: some file systems refuse
 * fsync on a directory, and the data is already safe either way. */
static void
sync_parent_dir (const char *path)
{
  const char *slash = strrchr (path, '/');
  char *dir = NULL;
  if (!slash)
    dir = dup_string (".");
  else if (slash == path)
    dir = dup_string ("/");
  else if ((dir = malloc ((size_t) (slash - path) + 1))) {
    memcpy (dir, path, (size_t) (slash - path));
    dir[slash - path] = '\0';
  }
  if (!dir)
    return;
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void) fsync (fd);
    close (fd);
  }
  free (dir);
}

irc_status
irc_st_writer_save (irc_st_writer *w, const char *path, irc_error *err)
{
  const int fw = FILE_MAX_SHOWN;
  if (!w || !path || !*path)
    return irc_fail (err, IRC_ERR_INVALID, "safetensors writer: NULL path");

  char *header = writer_header (w);
  if (!header)
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: cannot build the JSON header", fw, path);
  size_t hlen = strlen (header);
  size_t padded = (hlen + 7) / 8 * 8;   /* keeps the data 8-byte aligned */

  size_t plen = strlen (path);
  char *tmp = malloc (plen + sizeof ".tmp.XXXXXX");
  if (!tmp) {
    free (header);
    return irc_fail (err, IRC_ERR_NOMEM, "%.*s: out of memory", fw, path);
  }
  memcpy (tmp, path, plen);
  memcpy (tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

  irc_status st = IRC_OK;
  int fd = mkstemp (tmp);
  if (fd < 0) {
    st = irc_fail (err, IRC_ERR_IO, "%.*s: cannot create a temporary file: %s",
        fw, path, strerror (errno));
    goto out;
  }
  /* mkstemp makes 0600; a model file is meant to be shared */
  (void) fchmod (fd, 0644);

  unsigned char len8[8];
  store_le64 (len8, (uint64_t) padded);
  static const char spaces[8] = "        ";
  int ok = write_all (fd, len8, 8) && write_all (fd, header, hlen)
      && write_all (fd, spaces, padded - hlen);
  for (size_t i = 0; ok && i < w->n_entries; i++)
    ok = write_all (fd, w->entries[i].bytes, w->entries[i].nbytes);
  if (!ok) {
    st = irc_fail (err, IRC_ERR_IO, "%.*s: write error: %s", fw, path, strerror (errno));
    close (fd);
    unlink (tmp);
    goto out;
  }
  if (fsync (fd) != 0) {
    st = irc_fail (err, IRC_ERR_IO, "%.*s: fsync failed: %s", fw, path, strerror (errno));
    close (fd);
    unlink (tmp);
    goto out;
  }
  if (close (fd) != 0) {
    st = irc_fail (err, IRC_ERR_IO, "%.*s: close failed: %s", fw, path, strerror (errno));
    unlink (tmp);
    goto out;
  }
  if (rename (tmp, path) != 0) {
    st = irc_fail (err, IRC_ERR_IO, "%.*s: cannot rename the temporary file into place: %s",
        fw, path, strerror (errno));
    unlink (tmp);
    goto out;
  }
  sync_parent_dir (path);

out:
  free (tmp);
  free (header);
  return st;
}
