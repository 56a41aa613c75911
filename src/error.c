/* error: status names and formatted messages. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *
irc_status_name (irc_status status)
{
  switch (status) {
    case IRC_OK: return "IRC_OK";
    case IRC_ERR_IO: return "IRC_ERR_IO";
    case IRC_ERR_FORMAT: return "IRC_ERR_FORMAT";
    case IRC_ERR_MODEL: return "IRC_ERR_MODEL";
    case IRC_ERR_INVALID: return "IRC_ERR_INVALID";
    case IRC_ERR_NOMEM: return "IRC_ERR_NOMEM";
    case IRC_ERR_UNSUPPORTED: return "IRC_ERR_UNSUPPORTED";
    case IRC_ERR_BACKEND: return "IRC_ERR_BACKEND";
  }
  return "IRC_ERR_UNKNOWN";
}

irc_status
irc_fail (irc_error *err, irc_status status, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err->message, sizeof err->message, fmt, ap);
    va_end (ap);
    err->status = status;
  }
  return status;
}
