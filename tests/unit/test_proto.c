/* The agent protocol's framing and envelopes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/agent_client.h"
#include "lib/cleanup.h"
#include "lib/proto.h"
#include "tests/unit/tap.h"

static int test_frames(void)
{
	cleanup_err hk_err *err = NULL;
	uint8_t buf[64];
	const uint8_t *p;
	size_t plen, used;
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK(hk_frame_write(fds[1], "{\"id\":1}", 8, &err) == 0);
	CHECK(read(fds[0], buf, sizeof(buf)) == 12);
	CHECK(hk_frame_split(buf, 3, &p, &plen, &used, &err) == 0);  /* header incomplete */
	CHECK(hk_frame_split(buf, 11, &p, &plen, &used, &err) == 0); /* payload incomplete */
	CHECK(hk_frame_split(buf, 12, &p, &plen, &used, &err) == 1);
	CHECK(plen == 8 && used == 12 && memcmp(p, "{\"id\":1}", 8) == 0);
	uint32_t huge = htonl(HK_PROTO_MAX_FRAME + 1), zero = 0;
	memcpy(buf, &huge, 4);
	CHECK(hk_frame_split(buf, 4, &p, &plen, &used, &err) < 0);
	hk_err_free(&err);
	memcpy(buf, &zero, 4);
	CHECK(hk_frame_split(buf, 4, &p, &plen, &used, &err) < 0);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

static int parse_ok(const char *s, struct hk_msg *m)
{
	cleanup_err hk_err *err = NULL;
	int r = hk_msg_parse(s, strlen(s), m, &err);
	if (r < 0)
		printf("#   %s: %s\n", s, err->msg);
	return r;
}

static int test_envelopes(void)
{
	struct hk_msg m;
	static const char *const bad[] = {
	        "[]",
	        "{\"method\":\"stats\"}",
	        "{\"id\":-1,\"method\":\"stats\"}",
	        "{\"id\":1.5,\"method\":\"stats\"}",
	        "{\"id\":1,\"method\":\"format_disk\"}",
	        "{\"id\":1,\"method\":\"stats\",\"result\":{}}",
	        "{\"id\":1,\"method\":\"stats\",\"params\":[1]}",
	        "{\"id\":1,\"result\":3}",
	        "{\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
	        "{\"id\":1,\"error\":{\"code\":1}}",
	        "{\"id\":1}",
	};

	CHECK(parse_ok("{\"id\":7,\"method\":\"wait_process\",\"params\":{\"pid\":3}}", &m) == 0);
	CHECK(m.kind == HK_MSG_REQUEST && m.id == 7 && strcmp(m.method, "wait_process") == 0);
	CHECK(m.params && hk_json_get(m.params, "pid") != NULL);
	hk_msg_free(&m);
	/* Pods' methods (lib/proto.h) are version 1's too. */
	CHECK(parse_ok("{\"id\":9,\"method\":\"use_container\",\"params\":{\"id\":\"c2\"}}", &m) ==
	      0);
	CHECK(m.kind == HK_MSG_REQUEST && strcmp(m.method, HK_M_USE_CONTAINER) == 0);
	hk_msg_free(&m);
	CHECK(parse_ok("{\"id\":10,\"method\":\"delete_container\"}", &m) == 0);
	CHECK(m.kind == HK_MSG_REQUEST && strcmp(m.method, HK_M_DELETE_CONTAINER) == 0);
	hk_msg_free(&m);
	CHECK(parse_ok("{\"id\":7,\"result\":{\"exit\":0}}", &m) == 0 && m.kind == HK_MSG_RESULT);
	hk_msg_free(&m);
	CHECK(parse_ok("{\"id\":8,\"error\":{\"code\":-2,\"message\":\"no such process\"}}", &m) ==
	      0);
	CHECK(m.kind == HK_MSG_ERROR && m.code == -2 && strcmp(m.message, "no such process") == 0);
	hk_msg_free(&m);
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad); i++) {
		cleanup_err hk_err *err = NULL;
		if (hk_msg_parse(bad[i], strlen(bad[i]), &m, &err) == 0) {
			printf("#   accepted: %s\n", bad[i]);
			hk_msg_free(&m);
			return 1;
		}
	}
	return 0;
}

/* Once the cancel fd is readable, a reply that will never come and a
 * connect that keeps being refused end with ECANCELED, long before their
 * timeouts (husk-vmm's container thread, its VM gone mid-boot). */
static int test_cancel(void)
{
	cleanup_close int stop = eventfd(0, EFD_CLOEXEC), a = -1, b = -1;
	int sv[2];
	uint64_t one = 1;
	struct hk_msg m;

	CHECK(stop >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	a = sv[0];
	b = sv[1];
	hk_proto_cancel_on(stop);
	{
		/* Not cancelled yet: a short timeout is a timeout. */
		cleanup_err hk_err *err = NULL;
		CHECK(hk_frame_read_msg(a, 20, &m, &err) < 0 && err->code == ETIMEDOUT);
	}
	CHECK(write(stop, &one, sizeof(one)) == sizeof(one));
	{
		cleanup_err hk_err *err = NULL;
		CHECK(hk_frame_read_msg(a, 600000, &m, &err) < 0 && err->code == ECANCELED);
	}
	{
		cleanup_err hk_err *err = NULL;
		CHECK(hk_vsock_connect("/nonexistent/husk-test.sock", 1024, 600000, &err) < 0 &&
		      err->code == ECANCELED);
		printf("#   %s\n", err->msg);
	}
	hk_proto_cancel_on(-1);
	return 0;
}

int main(void)
{
	RUN_TEST(test_frames);
	RUN_TEST(test_envelopes);
	RUN_TEST(test_cancel);
	TAP_DONE();
}
