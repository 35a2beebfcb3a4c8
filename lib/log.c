#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/util.h"

static int log_fd = STDERR_FILENO;
static enum hk_log_format log_fmt = HK_LOG_TEXT;
static enum hk_log_level log_min = HK_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

int hk_log_open(const char *path, enum hk_log_format fmt, enum hk_log_level min, hk_err **err)
{
	log_fmt = fmt;
	log_min = min;
	if (path == NULL || *path == '\0')
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return hk_err_set(err, errno, "open log file `%s`", path);
	hk_log_close();
	log_fd = fd;
	return 0;
}

void hk_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
}

int hk_log_enabled(enum hk_log_level lvl)
{
	return lvl >= log_min;
}

int hk_log_to_file(void)
{
	return log_fd != STDERR_FILENO;
}

char *hk_log_format_line(enum hk_log_format fmt, enum hk_log_level lvl, const char *time,
                         const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (fmt == HK_LOG_JSON) {
		fprintf(f, "{\"level\":\"%s\",\"msg\":", level_names[lvl]);
		hk_json_fputs(f, msg);
		fprintf(f, ",\"time\":\"%s\"}\n", time);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=", time, level_names[lvl]);
		hk_json_fputs(f, msg); /* logrus quotes with Go's %q, close enough */
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void hk_log(enum hk_log_level lvl, const char *fmt, ...)
{
	cleanup_free char *msg = NULL;
	cleanup_free char *line = NULL;
	char tbuf[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int saved = errno;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tbuf + n, sizeof(tbuf) - n, ".%09ldZ", ts.tv_nsec);
	line = hk_log_format_line(log_fmt, lvl, tbuf, msg);
	if (line)
		(void)hk_write_all(log_fd, line, strlen(line), NULL);
	errno = saved;
}
