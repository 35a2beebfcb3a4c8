/* Logging in runc's formats, because engines parse it: with
 * `--log-format json` every line is {"level":"error","msg":"…","time":"…"};
 * with text it is logrus' `time="…" level=error msg="…"`. */
#ifndef HK_LOG_H
#define HK_LOG_H

#include "lib/error.h"

enum hk_log_level { HK_LOG_DEBUG, HK_LOG_INFO, HK_LOG_WARN, HK_LOG_ERROR };
enum hk_log_format { HK_LOG_TEXT, HK_LOG_JSON };

/* path NULL logs to stderr. The file is opened for append, so a shim that
 * reads it after our exit finds every line. */
int hk_log_open(const char *path, enum hk_log_format fmt, enum hk_log_level min, hk_err **err);
void hk_log_close(void);
/* True when log lines go somewhere other than stderr. */
int hk_log_to_file(void);
/* Whether lines of this level are written (to skip expensive set-up). */
int hk_log_enabled(enum hk_log_level lvl);
void hk_log(enum hk_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hk_debug(...) hk_log(HK_LOG_DEBUG, __VA_ARGS__)
#define hk_info(...)  hk_log(HK_LOG_INFO, __VA_ARGS__)
#define hk_warn(...)  hk_log(HK_LOG_WARN, __VA_ARGS__)
#define hk_error(...) hk_log(HK_LOG_ERROR, __VA_ARGS__)

/* A mark on a container's startup timeline: a debug line "timeline: MARK"
 * whose time (CLOCK_REALTIME, the log's clock in husk and husk-vmm alike,
 * which share --log) is when the phase ended. bench/timeline-lab.sh reads
 * them; they cost nothing without --debug. */
#define hk_timeline(mark) hk_debug("timeline: %s", mark)

/* Formats one line without writing it (exposed for tests). Returns a malloced
 * string ending in "\n", or NULL on allocation failure. */
char *hk_log_format_line(enum hk_log_format fmt, enum hk_log_level lvl, const char *time,
                         const char *msg);

#endif
