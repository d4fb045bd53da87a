/* strtab.c — see strtab.h. */
#include <stdlib.h>
#include <string.h>
#include "cli/util/hash.h"
#include "cli/util/strtab.h"

static int grow(ma_strtab *t)
{
	size_t c = t->cap ? t->cap * 2 : 256;
	char **s = realloc(t->s, c * sizeof *s);
	if (!s)
		return -1;
	t->s = s;
	uint32_t *nx = realloc(t->next, c * sizeof *nx);
	if (!nx)
		return -1;
	t->next = nx;
	t->cap = c;
	return 0;
}

uint32_t ma_strtab_intern(ma_strtab *t, const char *s)
{
	if (!s)
		s = "";
	uint32_t *slot = ma_u64map_slot(&t->idx, ma_hash_str(MA_HASH_SEED, s));
	if (!slot)
		return UINT32_MAX;
	for (uint32_t i = *slot; i != UINT32_MAX; i = t->next[i])
		if (!strcmp(t->s[i], s))
			return i;
	if (t->n == t->cap && grow(t) < 0)
		return UINT32_MAX;
	char *d = strdup(s);
	if (!d)
		return UINT32_MAX;
	uint32_t i = (uint32_t)t->n++;
	t->s[i] = d;
	t->next[i] = *slot;
	*slot = i;
	return i;
}

void ma_strtab_free(ma_strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->next);
	ma_u64map_free(&t->idx);
	memset(t, 0, sizeof *t);
}
