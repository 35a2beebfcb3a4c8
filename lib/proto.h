/* The agent protocol (DESIGN §5), shared by the host runtime and the guest
 * agent: frames of a 4-byte big-endian length and a JSON object, on vsock
 * port 1024. Requests {"id":N,"method":"…","params":{…}}; replies
 * {"id":N,"result":{…}} or {"id":N,"error":{"code":C,"message":"…"}}.
 * Both sides treat the other's frames as hostile: lengths are bounded, the
 * JSON goes through the limited parser, and the envelope is checked here. */
#ifndef HK_PROTO_H
#define HK_PROTO_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/json.h"

#define HK_PROTO_VERSION   1
#define HK_AGENT_PORT      1024
#define HK_PROTO_MAX_FRAME (4u << 20)

/* The methods of version 1. */
#define HK_M_CREATE_CONTAINER  "create_container"
#define HK_M_START_CONTAINER   "start_container"
#define HK_M_EXEC_PROCESS      "exec_process"
#define HK_M_SIGNAL_PROCESS    "signal_process"
#define HK_M_WAIT_PROCESS      "wait_process"
#define HK_M_RESIZE_TTY        "resize_tty"
#define HK_M_CLOSE_STDIN       "close_stdin"
#define HK_M_STATS             "stats"
#define HK_M_PAUSE             "pause"
#define HK_M_RESUME            "resume"
#define HK_M_UPDATE_RESOURCES  "update_resources"
#define HK_M_UPDATE_INTERFACES "update_interfaces"
#define HK_M_UPDATE_ROUTES     "update_routes"
#define HK_M_SHUTDOWN          "shutdown"
/* Beyond DESIGN §5's list: the version handshake, naming a stdio stream
 * (the first frame of a stream connection), the container's status and its
 * processes (for `husk state` and `husk ps`). */
#define HK_M_VERSION           "version"
#define HK_M_OPEN_STREAM       "open_stream"
#define HK_M_STATE             "state"
#define HK_M_PS                "ps"
/* Pods: the VM's first container is the sandbox; a pod's other containers
 * are created in it by their own host process, whose connections name
 * their container with use_container {"id":ID} (control connections) or
 * open_stream's "container"; delete_container {} ends a bound container's
 * processes and forgets it. In a pod container's config.json a namespace
 * path HK_NS_CONTAINER "ID" (absolute, as OCI wants) means that
 * container's namespace of that type in this VM. */
#define HK_M_USE_CONTAINER     "use_container"
#define HK_M_DELETE_CONTAINER  "delete_container"
#define HK_NS_CONTAINER        "/run/husk/container/"
#define HK_CTR_ID_MAX          1024

/* Stream kinds named by open_stream {"process":P,"kind":K}; process is
 * "init" for the container's process or the exec id. After the agent's
 * reply the connection carries raw bytes: stdin host → guest (the host's
 * shutdown(SHUT_WR) is the end of input), the others guest → host, and a
 * tty stream both ways. */
#define HK_STREAM_STDIN  "stdin"
#define HK_STREAM_STDOUT "stdout"
#define HK_STREAM_STDERR "stderr"
#define HK_STREAM_TTY    "tty"
#define HK_INIT_PROCESS  "init"

extern const char *const hk_proto_methods[];

enum hk_msg_kind { HK_MSG_REQUEST, HK_MSG_RESULT, HK_MSG_ERROR };

/* A decoded envelope; the pointers point into root, which owns them. */
struct hk_msg {
	hk_json *root;
	enum hk_msg_kind kind;
	uint64_t id;
	const char *method;    /* requests */
	const hk_json *params; /* requests: an object, or NULL */
	const hk_json *result; /* results: an object */
	int64_t code;          /* errors */
	const char *message;   /* errors */
};

/* Splits one frame off buf: returns 1 with the payload, 0 when more bytes
 * are needed, -1 on a frame that can never be valid (too long, empty). */
int hk_frame_split(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
                   size_t *consumed, hk_err **err);
/* Writes one frame (header and payload) to fd. */
int hk_frame_write(int fd, const char *payload, size_t len, hk_err **err);

/* Reads one frame from a blocking or non-blocking fd, waiting at most
 * timeout_ms (-1: forever), and parses it as an envelope. A peer that
 * closes before a whole frame is ECONNRESET. */
int hk_frame_read_msg(int fd, int timeout_ms, struct hk_msg *m, hk_err **err);

/* Every wait for a peer in this process (hk_frame_read_msg, the agent
 * client's connects) ends with ECANCELED once fd is readable; -1, the
 * default, for none. husk-vmm points it at the eventfd it writes when its
 * VM stops: a container thread waiting on a guest that died mid-boot ends
 * at once, not at its five-minute timeout. */
void hk_proto_cancel_on(int fd);

/* poll(2) of p (NULL: none, a pause of ms) and of the cancel fd: -1 with
 * errno ECANCELED once that is readable, else as poll. */
int hk_proto_poll(struct pollfd *p, int ms);

/* Parses and checks an envelope: id a non-negative integer, exactly one of
 * method (a known one) / result / error, types as documented. */
int hk_msg_parse(const char *json, size_t len, struct hk_msg *m, hk_err **err);
void hk_msg_free(struct hk_msg *m);

#endif
