/* live_heap.c — see live_heap.h. */
#include <string.h>
#include "cli/analysis/live_heap.h"
#include "record_limits.h"

int ma_live_init(struct ma_live *l)
{
	memset(l, 0, sizeof(*l));
	l->a = ma_analysis_new();
	l->rp = l->a ? ma_replayer_new(&ma_analysis_ops, l->a, &l->res) : NULL;
	if (!l->rp) {
		ma_analysis_free(l->a);
		l->a = NULL;
		return -1;
	}
	return 0;
}

void ma_live_free(struct ma_live *l)
{
	ma_replayer_free(l->rp);
	ma_analysis_free(l->a);
	l->rp = NULL;
	l->a = NULL;
}

Memattach__Record *ma_live_push(struct ma_live *l, const uint8_t *rec, size_t len)
{
	char err[256];
	Memattach__Record *r = memattach__record__unpack(NULL, len, rec);
	if (r && (ma_record_check(r, err, sizeof(err)) < 0 ||
		  ma_replayer_push(l->rp, r, err, sizeof(err)) < 0 ||
		  ma_analysis_limit_error(l->a, err, sizeof(err))))
		l->failed = 1;
	return r;
}

void ma_live_record_free(Memattach__Record *r)
{
	if (r)
		memattach__record__free_unpacked(r, NULL);
}

int ma_live_on_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct ma_live *l = ctx;
	ma_live_record_free(ma_live_push(l, rec, len));
	return l->failed;
}
