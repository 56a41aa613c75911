/* error: filling an irc_error with a formatted message. */
#ifndef IRC_ERROR_H
#define IRC_ERROR_H

#include "irc/irc.h"

/* Sets @err (may be NULL) to @status with a printf-style message and returns @status. */
irc_status irc_fail (irc_error *err, irc_status status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
