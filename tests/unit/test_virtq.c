/* Split virtqueues against synthetic guest memory: well-formed chains, and
 * every malformed one a hostile guest can write, each marking the queue
 * broken without touching memory outside the guest's. */
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "tests/unit/guestmem.h"
#include "tests/unit/tap.h"
#include "vmm/virtio/queue.h"

#define F_NEXT  1
#define F_WRITE 2
#define F_IND   4

static struct vmm_mem mem;
static struct virtq q;
static struct vq_chain c;

static int pop(void)
{
	cleanup_err hk_err *err = NULL;
	int r = vq_pop(&q, &c, &err);
	if (r < 0)
		printf("#   refused: %s\n", err->msg);
	return r;
}

static void fresh(void)
{
	memset(mem.host, 0, GM_DATA);
	gm_queue(&q, &mem, 16);
}

static int test_chain(void)
{
	fresh();
	CHECK(vq_validate(&q, NULL) == 0);
	CHECK(pop() == 0); /* empty */
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 16, F_NEXT, 5);
	gm_desc(&mem, GM_DESC, 5, GM_DATA + 100, 8, F_NEXT | F_WRITE, 2);
	gm_desc(&mem, GM_DESC, 2, GM_DATA + 200, 4, F_WRITE, 0);
	memcpy(mem.host + GM_DATA, "0123456789abcdef", 16);
	gm_avail(&mem, &q, 0);
	CHECK(pop() == 1);
	CHECK(c.head == 0 && c.nr == 1 && c.nw == 2 && c.rlen == 16 && c.wlen == 12);
	char buf[16];
	CHECK(vq_chain_read(&c, 4, buf, 4) == 4 && memcmp(buf, "4567", 4) == 0);
	CHECK(vq_chain_write(&c, 6, "XYZW", 4) == 4);
	CHECK(memcmp(mem.host + GM_DATA + 106, "XY", 2) == 0);
	CHECK(memcmp(mem.host + GM_DATA + 200, "ZW", 2) == 0);
	CHECK(vq_chain_write(&c, 10, "too long", 8) == 2);
	vq_push(&q, c.head, 12);
	uint16_t used;
	uint32_t elem[2];
	memcpy(&used, mem.host + GM_USED + 2, 2);
	memcpy(elem, mem.host + GM_USED + 4, 8);
	CHECK(used == 1 && elem[0] == 0 && elem[1] == 12);
	CHECK(pop() == 0);
	return 0;
}

static int test_indirect(void)
{
	fresh();
	uint64_t table = GM_DATA + 0x1000;
	gm_desc(&mem, table, 0, GM_DATA, 10, F_NEXT, 1);
	gm_desc(&mem, table, 1, GM_DATA + 64, 20, F_WRITE, 0);
	gm_desc(&mem, GM_DESC, 3, table, 32, F_IND, 0);
	gm_avail(&mem, &q, 3);
	CHECK(pop() == 1);
	CHECK(c.head == 3 && c.nr == 1 && c.nw == 1 && c.rlen == 10 && c.wlen == 20);
	return 0;
}

static int test_event_idx(void)
{
	fresh();
	q.event_idx = true;
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		gm_avail(&mem, &q, 0);
	/* The driver wants an interrupt once used passes 1. */
	uint16_t ev = 1;
	memcpy(mem.host + GM_AVAIL + 4 + 2 * 16, &ev, 2);
	CHECK(pop() == 1);
	vq_push(&q, 0, 4);
	CHECK(vq_need_irq(&q)); /* the first signal is always sent */
	CHECK(pop() == 1);
	vq_push(&q, 0, 4); /* used 2: passes event 1 */
	CHECK(vq_need_irq(&q));
	CHECK(pop() == 1);
	vq_push(&q, 0, 4); /* used 3: event still 1, already passed */
	CHECK(!vq_need_irq(&q));
	vq_set_avail_event(&q);
	uint16_t ae;
	memcpy(&ae, mem.host + GM_USED + 4 + 8 * 16, 2);
	CHECK(ae == 3);
	/* Without event idx: NO_INTERRUPT in avail flags suppresses. */
	q.event_idx = false;
	uint16_t fl = 1;
	memcpy(mem.host + GM_AVAIL, &fl, 2);
	CHECK(!vq_need_irq(&q));
	return 0;
}

/* Each case sets up one bad chain at head 0 and expects a refusal. */
static int bad(void (*setup)(void))
{
	fresh();
	setup();
	gm_avail(&mem, &q, 0);
	if (pop() != -1 || !q.broken)
		return 1;
	return pop() == 0 ? 0 : 1; /* a broken queue stays quiet */
}

static void loop_chain(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, F_NEXT, 1);
	gm_desc(&mem, GM_DESC, 1, GM_DATA, 4, F_NEXT, 0);
}
static void addr_outside(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_SIZE - 2, 4, 0, 0);
}
static void addr_wraps(void)
{
	gm_desc(&mem, GM_DESC, 0, UINT64_MAX - 1, 4, 0, 0);
}
static void next_out_of_range(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, F_NEXT, 16);
}
static void write_then_read(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, F_NEXT | F_WRITE, 1);
	gm_desc(&mem, GM_DESC, 1, GM_DATA, 4, 0, 0);
}
static void nested_indirect(void)
{
	gm_desc(&mem, GM_DATA + 0x1000, 0, GM_DATA + 0x2000, 16, F_IND, 0);
	gm_desc(&mem, GM_DESC, 0, GM_DATA + 0x1000, 16, F_IND, 0);
}
static void indirect_bad_len(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_DATA + 0x1000, 24, F_IND, 0);
}
static void indirect_loop(void)
{
	gm_desc(&mem, GM_DATA + 0x1000, 0, GM_DATA, 4, F_NEXT, 1);
	gm_desc(&mem, GM_DATA + 0x1000, 1, GM_DATA, 4, F_NEXT, 0);
	gm_desc(&mem, GM_DESC, 0, GM_DATA + 0x1000, 32, F_IND, 0);
}
static void indirect_outside(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_SIZE - 16, 32, F_IND, 0);
}
static void indirect_in_chain(void)
{
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, F_NEXT, 1);
	gm_desc(&mem, GM_DESC, 1, GM_DATA + 0x1000, 16, F_IND, 0);
}
static void avail_jump(void)
{
	uint16_t idx = 100;
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 4, 0, 0);
	memcpy(mem.host + GM_AVAIL + 2, &idx, 2);
}
static void head_out_of_range(void)
{
	uint16_t head = 40;
	memcpy(mem.host + GM_AVAIL + 4, &head, 2);
	uint16_t idx = 1;
	memcpy(mem.host + GM_AVAIL + 2, &idx, 2);
	/* gm_avail after this adds a second, valid entry; the first is bad. */
}

static int test_hostile_chains(void)
{
	static const struct {
		const char *name;
		void (*setup)(void);
	} cases[] = {
	        {"loop", loop_chain},
	        {"buffer outside RAM", addr_outside},
	        {"address wraps", addr_wraps},
	        {"next out of range", next_out_of_range},
	        {"writable before readable", write_then_read},
	        {"nested indirect", nested_indirect},
	        {"indirect length not a multiple of 16", indirect_bad_len},
	        {"loop inside an indirect table", indirect_loop},
	        {"indirect table outside RAM", indirect_outside},
	        {"indirect inside a chain", indirect_in_chain},
	        {"avail index jumps ahead", avail_jump},
	        {"head out of range", head_out_of_range},
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(cases); i++) {
		printf("#  %s\n", cases[i].name);
		CHECK(bad(cases[i].setup) == 0);
	}
	return 0;
}

static int test_validate(void)
{
	cleanup_err hk_err *err = NULL;

	fresh();
	q.size = 12; /* not a power of two */
	CHECK(vq_validate(&q, &err) < 0);
	hk_err_free(&err);
	fresh();
	q.desc_gpa = GM_SIZE - 8;
	CHECK(vq_validate(&q, &err) < 0);
	hk_err_free(&err);
	fresh();
	q.used_gpa = GM_USED + 2; /* misaligned */
	CHECK(vq_validate(&q, &err) < 0);
	return 0;
}

int main(void)
{
	if (gm_init(&mem, GM_SIZE) < 0)
		return 1;
	RUN_TEST(test_chain);
	RUN_TEST(test_indirect);
	RUN_TEST(test_event_idx);
	RUN_TEST(test_hostile_chains);
	RUN_TEST(test_validate);
	gm_fini(&mem);
	TAP_DONE();
}
