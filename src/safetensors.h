/* safetensors: parse and validate a file image, read tensors as float, write files.
 * Internal to libirc; the JSON header is parsed with jansson. */
#ifndef IRC_SAFETENSORS_H
#define IRC_SAFETENSORS_H

#include "irc/irc.h"

typedef enum {
  IRC_DTYPE_F32,
  IRC_DTYPE_F16,
  IRC_DTYPE_BF16,
  IRC_DTYPE_I64,
} irc_dtype;

#define IRC_ST_MAX_DIMS 8

typedef struct {
  const char *name;               /* owned by the file object */
  irc_dtype dtype;
  int ndim;
  int64_t shape[IRC_ST_MAX_DIMS];
  size_t count;                   /* product of shape (1 for a scalar) */
  size_t begin, end;              /* byte range in the data section */
  const unsigned char *data;      /* begin of the bytes, inside the file image */
} irc_st_tensor;

typedef struct irc_st_file irc_st_file;

/* Reads the whole file at @path and validates it (see irc_st_parse). */
irc_status irc_st_open (const char *path, irc_st_file **out, irc_error *err);

/* Validates a file image of @size bytes: header length inside the file, valid
 * JSON object, every entry with a known dtype, a shape of non-negative
 * integers, data_offsets inside the data section whose length matches the
 * shape, entries neither overlapping nor leaving holes, and covering the data
 * section exactly. @name is used in messages. The bytes are copied. */
irc_status irc_st_parse (const void *data, size_t size, const char *name,
    irc_st_file **out, irc_error *err);

void irc_st_close (irc_st_file **file);

size_t irc_st_count (const irc_st_file *file);
const irc_st_tensor *irc_st_at (const irc_st_file *file, size_t index);
const irc_st_tensor *irc_st_find (const irc_st_file *file, const char *name);
/* The file name given at open/parse time. */
const char *irc_st_name (const irc_st_file *file);
/* A `__metadata__` string value, or NULL. */
const char *irc_st_metadata (const irc_st_file *file, const char *key);
/* Number of metadata entries and access by index. */
size_t irc_st_metadata_count (const irc_st_file *file);
void irc_st_metadata_at (const irc_st_file *file, size_t index, const char **key,
    const char **value);

/* Converts @t (F32, F16 or BF16) to float into @dst (t->count floats) and
 * refuses NaN or Inf values, naming the tensor and the element index. */
irc_status irc_st_read_f32 (const irc_st_file *file, const irc_st_tensor *t,
    float *dst, irc_error *err);

/* Writing. Tensors are added in order; the file is written to a temporary
 * name next to @path and renamed on success. */
typedef struct irc_st_writer irc_st_writer;

irc_status irc_st_writer_new (irc_st_writer **out, irc_error *err);
void irc_st_writer_free (irc_st_writer **w);
/* Copies @key/@value. */
irc_status irc_st_writer_metadata (irc_st_writer *w, const char *key,
    const char *value, irc_error *err);
/* Adds a float tensor stored as F32 (or F16 when @fp16). The data is copied. */
irc_status irc_st_writer_add_f32 (irc_st_writer *w, const char *name, int ndim,
    const int64_t *shape, const float *data, int fp16, irc_error *err);
irc_status irc_st_writer_add_i64 (irc_st_writer *w, const char *name, int ndim,
    const int64_t *shape, const int64_t *data, irc_error *err);
irc_status irc_st_writer_save (irc_st_writer *w, const char *path, irc_error *err);

/* Helpers shared with the model code. */
float irc_half_to_float (uint16_t h);
uint16_t irc_float_to_half (float f);
#endif
