/* test_safetensors: the safetensors reader refuses every malformed file with
 * a message naming the problem, reads F32/F16/BF16 and refuses non-finite
 * values; the writer round-trips and never leaves a partial file behind. */
#include "common.h"

#include "safetensors.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FNAME "t.safetensors"

typedef struct {
  unsigned char *p;
  size_t n;
} buf;

/* A file image: 8-byte length, @json padded with spaces to a multiple of 8,
 * then @dsize bytes of @data (zeros when @data is NULL). */
static buf
make_file (const char *json, const void *data, size_t dsize)
{
  size_t hlen = strlen (json), padded = (hlen + 7) / 8 * 8;
  buf b = { malloc (8 + padded + dsize + 1), 8 + padded + dsize };
  CHECK (b.p);
  for (int i = 0; i < 8; i++)
    b.p[i] = (unsigned char) ((uint64_t) padded >> (8 * i));
  memcpy (b.p + 8, json, hlen);
  memset (b.p + 8 + hlen, ' ', padded - hlen);
  if (data)
    memcpy (b.p + 8 + padded, data, dsize);
  else
    memset (b.p + 8 + padded, 0, dsize);
  return b;
}

static void
set_header_length (buf *b, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    b->p[i] = (unsigned char) (v >> (8 * i));
}

/* Parses @p and checks it fails with @status and a message that starts with
 * the file name and contains every NULL-terminated key word. */
static void
expect_fail_at (int line, const void *p, size_t n, irc_status status, ...)
{
  irc_error err = { 0 };
  irc_st_file *f = NULL;
  irc_status st = irc_st_parse (p, n, FNAME, &f, &err);
  if (st != status || f != NULL) {
    fprintf (stderr, "line %d: expected %s, got %s (%s)\n", line, irc_status_name (status),
        irc_status_name (st), err.message);
    exit (1);
  }
  if (strncmp (err.message, FNAME ": ", strlen (FNAME ": ")) != 0) {
    fprintf (stderr, "line %d: message does not start with the file name: %s\n", line,
        err.message);
    exit (1);
  }
  va_list ap;
  va_start (ap, status);
  for (const char *w; (w = va_arg (ap, const char *));) {
    if (!strstr (err.message, w)) {
      fprintf (stderr, "line %d: message lacks \"%s\": %s\n", line, w, err.message);
      exit (1);
    }
  }
  va_end (ap);
  if (getenv ("VERBOSE"))
    printf ("  ok: %s\n", err.message);
}

#define expect_fail(b, status, ...) \
  expect_fail_at (__LINE__, (b).p, (b).n, status, __VA_ARGS__, (const char *) NULL)

static irc_st_file *
parse_ok (buf b)
{
  irc_error err = { 0 };
  irc_st_file *f = NULL;
  irc_status st = irc_st_parse (b.p, b.n, FNAME, &f, &err);
  if (st != IRC_OK) {
    fprintf (stderr, "unexpected failure: %s\n", err.message);
    exit (1);
  }
  CHECK (f);
  return f;
}

/* ---------------------------------------------------------------- data */

/* The valid file every test mutates: 'a' F32 [2,3], 'b' F16 [4], 'c' I64 [],
 * listed out of data order to check that the reader sorts by offset. */
static const char *VALID_JSON =
    "{\"__metadata__\":{\"config\":\"{}\",\"source\":\"test\"},"
    "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}";

static void
valid_data (unsigned char d[40])
{
  const float a[6] = { 1.0f, -2.5f, 0.0f, 3.25f, 1e-3f, -1e6f };
  for (int i = 0; i < 6; i++) {
    uint32_t u;
    memcpy (&u, &a[i], 4);
    for (int k = 0; k < 4; k++)
      d[4 * i + k] = (unsigned char) (u >> (8 * k));
  }
  const uint16_t h[4] = { 0x3c00, 0xc000, 0x0001, 0x7bff };    /* 1, -2, 2^-24, 65504 */
  for (int i = 0; i < 4; i++) {
    d[24 + 2 * i] = (unsigned char) h[i];
    d[25 + 2 * i] = (unsigned char) (h[i] >> 8);
  }
  const int64_t c = -1234567890123LL;
  for (int k = 0; k < 8; k++)
    d[32 + k] = (unsigned char) ((uint64_t) c >> (8 * k));
}

static buf
valid_file (void)
{
  unsigned char d[40];
  valid_data (d);
  return make_file (VALID_JSON, d, sizeof d);
}

/* ---------------------------------------------------------------- tests */

static void
test_valid (void)
{
  buf b = valid_file ();
  irc_st_file *f = parse_ok (b);
  free (b.p);                   /* the reader keeps its own copy */

  CHECK (strcmp (irc_st_name (f), FNAME) == 0);
  CHECK (irc_st_count (f) == 3);
  const irc_st_tensor *a = irc_st_at (f, 0), *bt = irc_st_at (f, 1), *c = irc_st_at (f, 2);
  CHECK (irc_st_at (f, 3) == NULL);
  CHECK (strcmp (a->name, "a") == 0 && strcmp (bt->name, "b") == 0
      && strcmp (c->name, "c") == 0);
  CHECK (a->dtype == IRC_DTYPE_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3);
  CHECK (a->count == 6 && a->begin == 0 && a->end == 24);
  CHECK (bt->dtype == IRC_DTYPE_F16 && bt->count == 4);
  CHECK (c->dtype == IRC_DTYPE_I64 && c->ndim == 0 && c->count == 1);
  CHECK (irc_st_find (f, "b") == bt && irc_st_find (f, "c") == c && irc_st_find (f, "a") == a);
  CHECK (irc_st_find (f, "d") == NULL && irc_st_find (f, "") == NULL);

  CHECK (irc_st_metadata_count (f) == 2);
  CHECK (strcmp (irc_st_metadata (f, "source"), "test") == 0);
  CHECK (strcmp (irc_st_metadata (f, "config"), "{}") == 0);
  CHECK (irc_st_metadata (f, "nope") == NULL);
  const char *k, *v;
  irc_st_metadata_at (f, 0, &k, &v);
  CHECK (strcmp (k, "config") == 0 && strcmp (v, "{}") == 0);
  irc_st_metadata_at (f, 5, &k, &v);
  CHECK (k == NULL && v == NULL);

  float fa[6], fb[4];
  irc_error err = { 0 };
  CHECK (irc_st_read_f32 (f, a, fa, &err) == IRC_OK);
  CHECK (fa[0] == 1.0f && fa[1] == -2.5f && fa[3] == 3.25f && fa[4] == 1e-3f && fa[5] == -1e6f);
  CHECK (irc_st_read_f32 (f, bt, fb, &err) == IRC_OK);
  CHECK (fb[0] == 1.0f && fb[1] == -2.0f && fb[2] == ldexpf (1.0f, -24) && fb[3] == 65504.0f);
  float fc[1];
  CHECK (irc_st_read_f32 (f, c, fc, &err) == IRC_ERR_MODEL);
  CHECK (strstr (err.message, FNAME ": tensor 'c'") && strstr (err.message, "I64"));
  int64_t cv;
  memcpy (&cv, c->data, 8);     /* little-endian host in the tests */
  CHECK (cv == -1234567890123LL);

  irc_st_close (&f);
  CHECK (f == NULL);
  irc_st_close (&f);            /* NULL-safe */

  /* an empty file with no tensors and no data is valid */
  b = make_file ("{}", NULL, 0);
  f = parse_ok (b);
  CHECK (irc_st_count (f) == 0 && irc_st_metadata_count (f) == 0);
  irc_st_close (&f);
  free (b.p);

  /* zero-element tensors take no bytes, anywhere on a boundary */
  b = make_file ("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]},"
      "\"y\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", NULL, 8);
  f = parse_ok (b);
  CHECK (irc_st_count (f) == 2 && irc_st_find (f, "z")->count == 0);
  CHECK (irc_st_read_f32 (f, irc_st_find (f, "z"), NULL, &err) == IRC_OK);
  irc_st_close (&f);
  free (b.p);
}

static void
test_truncated (void)
{
  buf b = valid_file ();
  size_t hend = 8 + (b.n - 8 - 40);   /* end of the padded header */
  char want[64];

  for (size_t cut = 0; cut < 8; cut++) {
    buf t = { b.p, cut };
    snprintf (want, sizeof want, "file is %zu bytes", cut);
    expect_fail (t, IRC_ERR_FORMAT, want, "too short");
  }
  const size_t inside[] = { 8, 9, 8 + (hend - 8) / 2, hend - 1 };
  for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++) {
    buf t = { b.p, inside[i] };
    char len[32];
    snprintf (len, sizeof len, "header length %zu", hend - 8);
    snprintf (want, sizeof want, "(%zu bytes", inside[i]);
    expect_fail (t, IRC_ERR_FORMAT, len, want, "past the end of the file");
  }
  /* header complete, data cut: the tensor running off the end is named */
  buf t = { b.p, hend };
  expect_fail (t, IRC_ERR_FORMAT, "tensor '", "end past the data section (0 bytes)");
  t.n = hend + 30;
  expect_fail (t, IRC_ERR_FORMAT, "tensor 'c'", "[32, 40)", "(30 bytes)");
  t.n = b.n - 1;
  expect_fail (t, IRC_ERR_FORMAT, "tensor 'c'", "[32, 40)", "(39 bytes)");
  free (b.p);
}

static void
test_header_length (void)
{
  buf b = valid_file ();
  set_header_length (&b, 4096);
  char want[64];
  snprintf (want, sizeof want, "(%zu bytes", b.n);
  expect_fail (b, IRC_ERR_FORMAT, "header length 4096", want, "past the end");
  set_header_length (&b, (uint64_t) 1 << 40);
  expect_fail (b, IRC_ERR_FORMAT, "header length 1099511627776", "absurd");
  set_header_length (&b, UINT64_MAX);
  expect_fail (b, IRC_ERR_FORMAT, "absurd");
  set_header_length (&b, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON");
  free (b.p);

  /* a PNG signature read as a length */
  const unsigned char png[16] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  buf p = { (unsigned char *) png, sizeof png };
  expect_fail (p, IRC_ERR_FORMAT, "not a safetensors file");
}

static void
test_json (void)
{
  buf b = make_file ("{\"a\": {\"dtype\": \"F32\",\n \"shape\": [2,, 3]}}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON", "line 2", "column");
  free (b.p);
  b = make_file ("{\"a\": 1} trailing", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON");
  free (b.p);
  b = make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", NULL, 8);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON", "duplicate");
  free (b.p);
  b = make_file ("{\"a\\u0000b\":{}}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON");
  free (b.p);
  b = make_file ("{\"\xff\xfe\":{}}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not valid JSON");
  free (b.p);

  b = make_file ("[1, 2]", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "not a JSON object");
  free (b.p);
  b = make_file ("{\"w\": [1]}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "tensor 'w'", "not a JSON object");
  free (b.p);

  b = make_file ("{\"__metadata__\": [\"x\"]}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "__metadata__", "not a JSON object");
  free (b.p);
  b = make_file ("{\"__metadata__\": {\"ok\": \"s\", \"epoch\": 3}}", NULL, 0);
  expect_fail (b, IRC_ERR_FORMAT, "__metadata__", "'epoch'", "not a string");
  free (b.p);
}

static void
test_dtype_shape (void)
{
  struct {
    const char *json;
    const char *w1, *w2;
  } cases[] = {
    { "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'w'", "no dtype" },
    { "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "dtype is not a string" },
    { "{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "unsupported dtype 'F64'" },
    { "{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "unsupported dtype 'f32'" },
    { "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "tensor 'w'", "no shape" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", "tensor 'w'",
      "shape is not an array" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,-1],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "dimension 1 is not a non-negative integer" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "dimension 0 is not a non-negative integer" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", "tensor 'w'",
      "not a non-negative integer" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
      "tensor 'w'", "9 dimensions" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
      "tensor 'w'", "[4294967296, 4294967296] has too many elements" },
    { "{\"w\":{\"dtype\":\"I64\",\"shape\":[0,4611686018427387904],\"data_offsets\":[0,0]}}",
      "tensor 'w'", "too many elements" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}",
      "not valid JSON", "" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    buf b = make_file (cases[i].json, NULL, 4);
    expect_fail (b, IRC_ERR_FORMAT, cases[i].w1, cases[i].w2);
    free (b.p);
  }
}

static void
test_offsets (void)
{
  struct {
    const char *json;
    size_t dsize;
    const char *w1, *w2, *w3;
  } cases[] = {
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w'", "no data_offsets", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "tensor 'w'",
      "pair of non-negative integers", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "tensor 'w'",
      "pair of non-negative integers", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":1}}}", 4, "tensor 'w'",
      "pair of non-negative integers", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "tensor 'w'",
      "pair of non-negative integers", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4, "tensor 'w'",
      "pair of non-negative integers", "" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "tensor 'w'",
      "[8, 4)", "end before begin" },
    { "{\"mlp.0.weight\":{\"dtype\":\"F32\",\"shape\":[128],\"data_offsets\":[100,612]}}", 512,
      "tensor 'mlp.0.weight'", "data_offsets [100, 612) end past the data section",
      "(512 bytes)" },
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
      "\"data_offsets\":[9223372036854775800,9223372036854775804]}}", 4, "tensor 'w'",
      "end past the data section", "(4 bytes)" },
    /* length mismatch: expected vs found */
    { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
      "tensor 'w'", "F32 shape [2, 3] needs 24 bytes", "[0, 20) hold 20" },
    { "{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
      "tensor 'w'", "needs 8 bytes", "hold 16" },
    { "{\"w\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,0]}}", 0,
      "tensor 'w'", "needs 8 bytes", "hold 0" },
    /* overlap, naming both with their ranges */
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24,
      "'a' [0, 24)", "'b' [16, 24)", "overlap" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
      "'a' [0, 8)", "'b' [0, 8)", "overlap" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20,
      "'a' [0, 16)", "'z' [8, 8)", "overlap" },
    /* holes and uncovered data */
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24,
      "bytes [8, 16)", "not covered", "between 'a' and 'b'" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16,
      "bytes [8, 16)", "not covered", "after 'a'" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
      "bytes [0, 8)", "not covered", "before 'a'" },
    { "{\"__metadata__\":{}}", 8, "bytes [0, 8)", "not covered", "" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    buf b = make_file (cases[i].json, NULL, cases[i].dsize);
    expect_fail (b, IRC_ERR_FORMAT, cases[i].w1, cases[i].w2, cases[i].w3);
    free (b.p);
  }
}

static void
put16 (unsigned char *d, size_t i, uint16_t v)
{
  d[2 * i] = (unsigned char) v;
  d[2 * i + 1] = (unsigned char) (v >> 8);
}

static void
put32 (unsigned char *d, size_t i, uint32_t v)
{
  for (int k = 0; k < 4; k++)
    d[4 * i + k] = (unsigned char) (v >> (8 * k));
}

/* One tensor 'x' of @dtype and 20 elements with @bits at @index; the read
 * must fail with "element @index is @what". */
static void
expect_nonfinite (const char *dtype, size_t esize, size_t index, uint32_t bits,
    const char *what)
{
  char json[160];
  snprintf (json, sizeof json,
      "{\"x\":{\"dtype\":\"%s\",\"shape\":[4,5],\"data_offsets\":[0,%zu]}}", dtype, 20 * esize);
  unsigned char d[80] = { 0 };
  for (size_t i = 0; i < 20; i++) {
    if (esize == 4)
      put32 (d, i, i == index ? bits : 0x3f800000u);
    else
      put16 (d, i, (uint16_t) (i == index ? bits : 0x3c00u));
  }
  if (strcmp (dtype, "BF16") == 0)
    for (size_t i = 0; i < 20; i++)
      if (i != index)
        put16 (d, i, 0x3f80);

  buf b = make_file (json, d, 20 * esize);
  irc_st_file *f = parse_ok (b);
  free (b.p);
  float out[20];
  irc_error err = { 0 };
  irc_status st = irc_st_read_f32 (f, irc_st_find (f, "x"), out, &err);
  char want[96];
  snprintf (want, sizeof want, FNAME ": tensor 'x': element %zu is %s", index, what);
  if (st != IRC_ERR_MODEL || strcmp (err.message, want) != 0) {
    fprintf (stderr, "%s: expected \"%s\", got %s \"%s\"\n", dtype, want,
        irc_status_name (st), err.message);
    exit (1);
  }
  irc_st_close (&f);
}

static void
test_nonfinite (void)
{
  expect_nonfinite ("F32", 4, 17, 0x7fc00000u, "NaN");
  expect_nonfinite ("F32", 4, 0, 0x7f800001u, "NaN");        /* signalling */
  expect_nonfinite ("F32", 4, 19, 0x7f800000u, "+Inf");
  expect_nonfinite ("F32", 4, 3, 0xff800000u, "-Inf");
  expect_nonfinite ("F16", 2, 17, 0x7e00u, "NaN");
  expect_nonfinite ("F16", 2, 5, 0x7c01u, "NaN");
  expect_nonfinite ("F16", 2, 3, 0x7c00u, "+Inf");
  expect_nonfinite ("F16", 2, 0, 0xfc00u, "-Inf");
  expect_nonfinite ("BF16", 2, 7, 0x7fc0u, "NaN");
  expect_nonfinite ("BF16", 2, 8, 0xff80u, "-Inf");
}

static void
test_half (void)
{
  /* every half survives half -> float -> half, NaNs stay NaN */
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = irc_half_to_float ((uint16_t) h);
    uint16_t back = irc_float_to_half (f);
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
      CHECK (isnan (f) && (back & 0x7c00) == 0x7c00 && (back & 0x3ff));
      CHECK ((back & 0x8000) == (h & 0x8000));
    } else {
      CHECK (back == h);
    }
  }
  CHECK (irc_half_to_float (0x3c00) == 1.0f);
  CHECK (irc_half_to_float (0x0001) == ldexpf (1.0f, -24));
  CHECK (irc_half_to_float (0x03ff) == ldexpf (1023.0f, -24));
  CHECK (irc_half_to_float (0x0400) == ldexpf (1.0f, -14));
  CHECK (irc_half_to_float (0xfc00) == -INFINITY);
  CHECK (irc_float_to_half (65504.0f) == 0x7bff);
  CHECK (irc_float_to_half (65519.99f) == 0x7bff);
  CHECK (irc_float_to_half (65520.0f) == 0x7c00);      /* halfway, odd mantissa: up */
  CHECK (irc_float_to_half (1e10f) == 0x7c00);
  CHECK (irc_float_to_half (-INFINITY) == 0xfc00);
  CHECK (irc_float_to_half (ldexpf (1.0f, -25)) == 0x0000);     /* tie to even: 0 */
  CHECK (irc_float_to_half (ldexpf (1.5f, -25)) == 0x0001);
  CHECK (irc_float_to_half (ldexpf (3.0f, -25)) == 0x0002);     /* 1.5 ulp: tie to 2 */
  CHECK (irc_float_to_half (ldexpf (1.0f, -26)) == 0x0000);
  CHECK (irc_float_to_half (-0.0f) == 0x8000);
  CHECK (irc_float_to_half (1.0f + ldexpf (1.0f, -11)) == 0x3c00);   /* tie: even */
  CHECK (irc_float_to_half (1.0f + ldexpf (3.0f, -11)) == 0x3c02);   /* tie: even */
  CHECK (irc_float_to_half (ldexpf (1023.5f, -24)) == 0x0400);  /* carries to normal */

#ifdef __FLT16_MAX__
  /* the compiler's conversion rounds to nearest even too: compare on a
   * spread of bit patterns covering every exponent */
  uint32_t s = 12345;
  for (int i = 0; i < 2000000; i++) {
    test_lcg (&s);
    uint32_t u = s ^ (s >> 7);
    float f;
    memcpy (&f, &u, 4);
    if (isnan (f))
      continue;
    _Float16 hc = (_Float16) f;
    uint16_t want;
    memcpy (&want, &hc, 2);
    if (irc_float_to_half (f) != want) {
      fprintf (stderr, "float_to_half(%a) = %04x, compiler says %04x\n", (double) f,
          irc_float_to_half (f), want);
      exit (1);
    }
  }
#endif
}

/* ---------------------------------------------------------------- writer */

static int
dir_entries (const char *dir)
{
  DIR *d = opendir (dir);
  CHECK (d);
  int n = 0;
  for (struct dirent *e; (e = readdir (d));)
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
      n++;
  closedir (d);
  return n;
}

static void
test_writer (void)
{
  char dir[] = "/tmp/test_safetensors.XXXXXX";
  CHECK (mkdtemp (dir));
  char path[256], sub[256];
  snprintf (path, sizeof path, "%s/out.safetensors", dir);
  snprintf (sub, sizeof sub, "%s/sub", dir);

  irc_error err = { 0 };
  irc_st_writer *w = NULL;
  CHECK (irc_st_writer_new (&w, &err) == IRC_OK && w);

  const int64_t s23[2] = { 2, 3 }, s4[1] = { 4 }, s0[1] = { 0 };
  const float a[6] = { 0.5f, -1.0f, 3.0f, 1e-7f, 12345.678f, -0.0f };
  const float h[4] = { 1.0f, -2.0f, 0.1f, 65504.0f };
  const int64_t c[4] = { 0, -1, INT64_MAX, INT64_MIN };
  const int64_t one = 7;
  CHECK (irc_st_writer_add_f32 (w, "zeta.weight", 2, s23, a, 0, &err) == IRC_OK);
  CHECK (irc_st_writer_add_f32 (w, "alpha.half", 1, s4, h, 1, &err) == IRC_OK);
  CHECK (irc_st_writer_add_i64 (w, "bn.num_batches_tracked", 0, NULL, &one, &err) == IRC_OK);
  CHECK (irc_st_writer_add_i64 (w, "ints", 1, s4, c, &err) == IRC_OK);
  CHECK (irc_st_writer_add_f32 (w, "empty", 1, s0, NULL, 0, &err) == IRC_OK);
  /* metadata set after tensors still comes first in the file */
  CHECK (irc_st_writer_metadata (w, "config", "{\"dim\": 8}", &err) == IRC_OK);
  CHECK (irc_st_writer_metadata (w, "source", "old", &err) == IRC_OK);
  CHECK (irc_st_writer_metadata (w, "source", "unit \"test\" \xc3\xa9", &err) == IRC_OK);

  /* refusals leave the writer usable */
  CHECK (irc_st_writer_add_f32 (w, "zeta.weight", 2, s23, a, 0, &err) == IRC_ERR_INVALID);
  CHECK (strstr (err.message, "zeta.weight") && strstr (err.message, "twice"));
  CHECK (irc_st_writer_add_f32 (w, "__metadata__", 1, s4, h, 0, &err) == IRC_ERR_INVALID);
  const float bad[4] = { 1.0f, NAN, 0.0f, 0.0f }, big[4] = { 1.0f, 2.0f, 1e5f, 0.0f };
  CHECK (irc_st_writer_add_f32 (w, "nan", 1, s4, bad, 0, &err) == IRC_ERR_INVALID);
  CHECK (strstr (err.message, "'nan'") && strstr (err.message, "element 1"));
  CHECK (irc_st_writer_add_f32 (w, "big", 1, s4, big, 1, &err) == IRC_ERR_INVALID);
  CHECK (strstr (err.message, "element 2") && strstr (err.message, "F16"));
  const int64_t negshape[1] = { -1 };
  CHECK (irc_st_writer_add_f32 (w, "neg", 1, negshape, a, 0, &err) == IRC_ERR_INVALID);
  CHECK (irc_st_writer_add_f32 (w, "nine", 9, s23, a, 0, &err) == IRC_ERR_INVALID);
  CHECK (irc_st_writer_add_f32 (w, "null", 1, s4, NULL, 0, &err) == IRC_ERR_INVALID);
  CHECK (irc_st_writer_metadata (w, "k", "\xff", &err) == IRC_ERR_INVALID);

  CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
  CHECK (dir_entries (dir) == 1);             /* no temporary left behind */
  struct stat sb;
  CHECK (stat (path, &sb) == 0 && (sb.st_mode & 0777) == 0644);

  /* a failed save: missing directory, and a destination that is a folder
   * (the rename fails after the temporary was written) */
  char missing[300];
  snprintf (missing, sizeof missing, "%s/no/such/dir/x.safetensors", dir);
  CHECK (irc_st_writer_save (w, missing, &err) == IRC_ERR_IO);
  CHECK (strstr (err.message, missing) == err.message);
  CHECK (mkdir (sub, 0755) == 0);
  char inside[300];
  snprintf (inside, sizeof inside, "%s/keep", sub);
  FILE *kf = fopen (inside, "w");
  CHECK (kf && fclose (kf) == 0);
  CHECK (irc_st_writer_save (w, sub, &err) == IRC_ERR_IO);
  CHECK (strstr (err.message, "rename"));
  CHECK (dir_entries (dir) == 2 && dir_entries (sub) == 1);
  irc_st_writer_free (&w);
  CHECK (w == NULL);
  irc_st_writer_free (&w);

  /* raw layout: padded header, metadata first, insertion order */
  FILE *fp = fopen (path, "rb");
  CHECK (fp);
  unsigned char head[8];
  CHECK (fread (head, 1, 8, fp) == 8);
  uint64_t hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (uint64_t) head[i] << (8 * i);
  CHECK (hlen % 8 == 0 && hlen < 4096);
  char text[4096];
  CHECK (fread (text, 1, hlen, fp) == hlen);
  text[hlen] = '\0';
  fclose (fp);
  CHECK (strncmp (text, "{\"__metadata__\":{\"config\":", 26) == 0);
  CHECK (strstr (text, "\"zeta.weight\":{") < strstr (text, "\"alpha.half\":{"));
  CHECK (strchr (text, '\n') == NULL && strstr (text, ", ") == NULL);

  irc_st_file *f = NULL;
  CHECK (irc_st_open (path, &f, &err) == IRC_OK);
  CHECK (irc_st_count (f) == 5);
  CHECK (strcmp (irc_st_at (f, 0)->name, "zeta.weight") == 0);
  CHECK (strcmp (irc_st_at (f, 1)->name, "alpha.half") == 0);
  CHECK (strcmp (irc_st_metadata (f, "source"), "unit \"test\" \xc3\xa9") == 0);
  CHECK (strcmp (irc_st_metadata (f, "config"), "{\"dim\": 8}") == 0);
  CHECK (irc_st_metadata_count (f) == 2);

  const irc_st_tensor *t = irc_st_find (f, "zeta.weight");
  float out[6];
  CHECK (t->dtype == IRC_DTYPE_F32 && t->ndim == 2 && t->shape[1] == 3);
  CHECK (irc_st_read_f32 (f, t, out, &err) == IRC_OK);
  CHECK (memcmp (out, a, sizeof a) == 0);     /* bit exact, -0 included */
  t = irc_st_find (f, "alpha.half");
  CHECK (t->dtype == IRC_DTYPE_F16 && t->count == 4);
  CHECK (irc_st_read_f32 (f, t, out, &err) == IRC_OK);
  CHECK (out[0] == 1.0f && out[1] == -2.0f && out[3] == 65504.0f);
  CHECK (fabsf (out[2] - 0.1f) < 1e-4f && out[2] == irc_half_to_float (irc_float_to_half (0.1f)));
  t = irc_st_find (f, "ints");
  CHECK (t->dtype == IRC_DTYPE_I64 && t->count == 4);
  int64_t ci[4];
  memcpy (ci, t->data, sizeof ci);
  CHECK (memcmp (ci, c, sizeof c) == 0);
  t = irc_st_find (f, "bn.num_batches_tracked");
  CHECK (t->ndim == 0 && t->count == 1);
  CHECK (irc_st_find (f, "empty")->count == 0);
  irc_st_close (&f);

  /* overwriting an existing file works and replaces it whole */
  CHECK (irc_st_writer_new (&w, &err) == IRC_OK);
  CHECK (irc_st_writer_save (w, path, &err) == IRC_OK);
  irc_st_writer_free (&w);
  CHECK (irc_st_open (path, &f, &err) == IRC_OK && irc_st_count (f) == 0);
  irc_st_close (&f);

  CHECK (irc_st_open (missing, &f, &err) == IRC_ERR_IO && f == NULL);
  CHECK (strstr (err.message, missing) == err.message);
  CHECK (irc_st_open (sub, &f, &err) == IRC_ERR_IO);

  unlink (inside);
  rmdir (sub);
  unlink (path);
  CHECK (rmdir (dir) == 0);
}

/* Random damage to a valid file must be refused or accepted cleanly, never
 * crash or read out of bounds (ASan/valgrind watch this). */
static void
test_mutations (void)
{
  buf b = valid_file ();
  unsigned char *m = malloc (b.n);
  CHECK (m);
  uint32_t s = 777;
  int accepted = 0;
  for (int it = 0; it < 20000; it++) {
    memcpy (m, b.p, b.n);
    size_t n = b.n;
    int edits = 1 + it % 4;
    for (int e = 0; e < edits; e++) {
      test_lcg (&s);
      size_t pos = (s >> 8) % n;
      static const char pool[] = "{}[]\",:0123456789-. eE\\u";
      m[pos] = (s & 1) ? (unsigned char) pool[(s >> 1) % (sizeof pool - 1)]
          : (unsigned char) (s >> 16);
    }
    if (it % 5 == 0)
      n = (s >> 3) % (b.n + 1);
    irc_error err = { 0 };
    irc_st_file *f = NULL;
    if (irc_st_parse (m, n, FNAME, &f, &err) == IRC_OK) {
      accepted++;
      for (size_t i = 0; i < irc_st_count (f); i++) {
        const irc_st_tensor *t = irc_st_at (f, i);
        float tmp[8];
        CHECK (t->count <= 8);
        irc_st_read_f32 (f, t, tmp, &err);
      }
      irc_st_close (&f);
    } else {
      CHECK (err.status != IRC_OK && strncmp (err.message, FNAME ": ", 15) == 0);
    }
  }
  CHECK (accepted > 0);
  free (m);
  free (b.p);
}

static void
test_golden (void)
{
  const char *shared = test_shared_dir ();
  if (!shared) {
    printf ("golden: IRC_SHARED_DIR not set, skipped\n");
    return;
  }
  char path[1024];
  snprintf (path, sizeof path, "%s/golden/infer_small.safetensors", shared);
  irc_error err = { 0 };
  irc_st_file *f = NULL;
  if (irc_st_open (path, &f, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  size_t n = irc_st_count (f);
  CHECK (n > 0);
  const irc_st_tensor *in = irc_st_find (f, "golden.input");
  CHECK (in && in->dtype == IRC_DTYPE_F32 && in->ndim == 4);
  CHECK (in->shape[0] == 1 && in->shape[1] == 3 && in->shape[2] == 48 && in->shape[3] == 64);
  CHECK (irc_st_metadata (f, "config") && strstr (irc_st_metadata (f, "config"), "\"dim\""));
  size_t pos = 0, floats = 0;
  for (size_t i = 0; i < n; i++) {
    const irc_st_tensor *t = irc_st_at (f, i);
    CHECK (t->begin == pos);
    pos = t->end;
    CHECK (irc_st_find (f, t->name) == t);
    if (t->dtype == IRC_DTYPE_I64)
      continue;
    float *d = malloc (t->count * sizeof *d + 1);
    CHECK (d);
    if (irc_st_read_f32 (f, t, d, &err) != IRC_OK) {
      fprintf (stderr, "%s\n", err.message);
      exit (1);
    }
    free (d);
    floats++;
  }
  printf ("golden: %zu tensors (%zu float) in %s\n", n, floats, path);
  irc_st_close (&f);
}

int
main (void)
{
  test_valid ();
  test_truncated ();
  test_header_length ();
  test_json ();
  test_dtype_shape ();
  test_offsets ();
  test_nonfinite ();
  test_half ();
  test_writer ();
  test_mutations ();
  test_golden ();
  printf ("test_safetensors: all passed\n");
  return 0;
}
