/* eh_rules.c — one frame's unwind rule, compiled from the object's
 * .eh_frame (found through its .eh_frame_hdr search table) for the code
 * address asked about: where the CFA is (rsp or rbp plus an offset) and
 * where the caller's rbp was saved.  The return address is at CFA - 8 on
 * x86-64.  Anything else (CFA expressions, signal frames, the CFA in
 * another register, rbp or the return address kept in a register) is
 * "unsupported": the caller then unwinds with libunwind.  Slow (a search
 * and a CFA program run): unwind_cache.c keeps the results per thread. */
#include <link.h>
#include <stdint.h>
#include <string.h>
#include "agent_internal.h"
#include "unwind_cache.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned shift = 0;
	while (*p < end) {
		uint8_t b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;
	while (*p < end) {
		b = *(*p)++;
		if (shift < 64)
			v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/* A DW_EH_PE-encoded pointer; -1 in *ok on an encoding we do not read. */
static uint64_t read_enc(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t datarel, int *ok)
{
	const uint8_t *at = *p;
	uint64_t v;
	if (enc == 0xff)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: if (end - at < 8) goto bad; memcpy(&v, at, 8); *p += 8; break;
	case 0x01: v = uleb(p, end); break;
	case 0x02: { uint16_t x; if (end - at < 2) goto bad; memcpy(&x, at, 2); v = x; *p += 2; break; }
	case 0x03: { uint32_t x; if (end - at < 4) goto bad; memcpy(&x, at, 4); v = x; *p += 4; break; }
	case 0x04: if (end - at < 8) goto bad; memcpy(&v, at, 8); *p += 8; break;
	case 0x09: v = (uint64_t)sleb(p, end); break;
	case 0x0a: { int16_t x; if (end - at < 2) goto bad; memcpy(&x, at, 2); v = (uint64_t)(int64_t)x; *p += 2; break; }
	case 0x0b: { int32_t x; if (end - at < 4) goto bad; memcpy(&x, at, 4); v = (uint64_t)(int64_t)x; *p += 4; break; }
	case 0x0c: if (end - at < 8) goto bad; memcpy(&v, at, 8); *p += 8; break;
	default: goto bad;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += (uint64_t)(uintptr_t)at; break;
	case 0x30: v += datarel; break;
	default: goto bad;
	}
	if (enc & 0x80)
		goto bad;   /* indirect: not in FDE addresses */
	return v;
bad:
	*ok = 0;
	return 0;
}

struct cie {
	const uint8_t *insns, *end;
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	int has_z;
};

static int parse_cie(const uint8_t *c, struct cie *out)
{
	uint32_t len32;
	memcpy(&len32, c, 4);
	if (len32 == 0 || len32 == 0xffffffffu)
		return -1;
	const uint8_t *p = c + 8, *end = c + 4 + len32;
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	size_t alen = strnlen(aug, (size_t)(end - p));
	p += alen + 1;
	if (aug[0] && aug[0] != 'z')
		return -1;
	out->code_align = uleb(&p, end);
	out->data_align = sleb(&p, end);
	uint64_t ra = version == 1 ? *p++ : uleb(&p, end);
	if (ra != REG_RA)
		return -1;
	out->fde_enc = 0;
	out->has_z = aug[0] == 'z';
	if (out->has_z) {
		uint64_t zlen = uleb(&p, end);
		const uint8_t *zend = p + zlen;
		int ok = 1;
		for (size_t i = 1; i < alen; i++) {
			switch (aug[i]) {
			case 'R': out->fde_enc = *p++; break;
			case 'L': p++; break;
			case 'P': { uint8_t e = *p++; read_enc(&p, zend, e & 0x7f, 0, &ok); break; }
			default: return -1;   /* 'S' (signal frame) and the unknown */
			}
		}
		if (!ok)
			return -1;
		p = zend;
	}
	out->insns = p;
	out->end = end;
	return 0;
}

struct state {
	int cfa_reg;
	int64_t cfa_off;
	int rbp_how;          /* 0 same value, 1 at CFA + rbp_off, -1 unsupported */
	int64_t rbp_off;
	int ra_undefined;
};

/* Runs a CFA program up to (not past) target; -1 when unsupported. */
static int run_cfa(const uint8_t *p, const uint8_t *end, const struct cie *cie, uint64_t loc,
		   uint64_t target, struct state *s, const struct state *initial)
{
	struct state stack[8];
	int sp = 0, ok = 1;
	while (p < end) {
		uint8_t op = *p++, low = op & 0x3f;
		uint64_t reg = 0, adv = 0;
		int64_t off;
		switch (op & 0xc0) {
		case 0x40:
			adv = low * cie->code_align;
			goto advance;
		case 0x80:
			off = (int64_t)uleb(&p, end) * cie->data_align;
			reg = low;
			goto offset;
		case 0xc0:
			reg = low;
			goto restore;
		}
		switch (op) {
		case 0x00: continue;
		case 0x01: {
			uint64_t a = read_enc(&p, end, cie->fde_enc, 0, &ok);
			if (!ok)
				return -1;
			if (a > target)
				return 0;
			loc = a;
			continue;
		}
		case 0x02: adv = *p++ * cie->code_align; goto advance;
		case 0x03: { uint16_t x; memcpy(&x, p, 2); p += 2; adv = x * cie->code_align; goto advance; }
		case 0x04: { uint32_t x; memcpy(&x, p, 4); p += 4; adv = x * cie->code_align; goto advance; }
		case 0x05: reg = uleb(&p, end); off = (int64_t)uleb(&p, end) * cie->data_align; goto offset;
		case 0x06: reg = uleb(&p, end); goto restore;
		case 0x07: case 0x08:
			reg = uleb(&p, end);
			if (reg == REG_RA)
				s->ra_undefined = op == 0x07;
			else if (reg == REG_RBP)
				s->rbp_how = op == 0x07 ? -1 : 0;
			else if (reg == REG_RSP)
				return -1;
			continue;
		case 0x09:
			reg = uleb(&p, end);
			uleb(&p, end);
			if (reg == REG_RA || reg == REG_RBP || reg == REG_RSP)
				return -1;
			continue;
		case 0x0a:
			if (sp == 8)
				return -1;
			stack[sp++] = *s;
			continue;
		case 0x0b:
			if (!sp)
				return -1;
			{
				int ra_u = s->ra_undefined;
				*s = stack[--sp];
				(void)ra_u;
			}
			continue;
		case 0x0c: s->cfa_reg = (int)uleb(&p, end); s->cfa_off = (int64_t)uleb(&p, end); continue;
		case 0x0d: s->cfa_reg = (int)uleb(&p, end); continue;
		case 0x0e: s->cfa_off = (int64_t)uleb(&p, end); continue;
		case 0x0f: return -1;
		case 0x10: case 0x16: {
			reg = uleb(&p, end);
			uint64_t n = uleb(&p, end);
			p += n;
			if (reg == REG_RA || reg == REG_RBP || reg == REG_RSP)
				return -1;
			continue;
		}
		case 0x11: reg = uleb(&p, end); off = sleb(&p, end) * cie->data_align; goto offset;
		case 0x12: s->cfa_reg = (int)uleb(&p, end); s->cfa_off = sleb(&p, end) * cie->data_align; continue;
		case 0x13: s->cfa_off = sleb(&p, end) * cie->data_align; continue;
		case 0x14: case 0x15:
			reg = uleb(&p, end);
			if (op == 0x14) uleb(&p, end); else sleb(&p, end);
			if (reg == REG_RA || reg == REG_RBP || reg == REG_RSP)
				return -1;
			continue;
		case 0x2e: uleb(&p, end); continue;
		case 0x2f:
			reg = uleb(&p, end);
			off = -(int64_t)uleb(&p, end) * cie->data_align;
			goto offset;
		default:
			return -1;
		}
advance:
		if (loc + adv > target)
			return 0;
		loc += adv;
		continue;
offset:
		if (reg == REG_RBP) {
			s->rbp_how = 1;
			s->rbp_off = off;
		} else if (reg == REG_RA) {
			if (off != -8)
				return -1;
		} else if (reg == REG_RSP) {
			return -1;
		}
		continue;
restore:
		if (!initial)
			return -1;   /* DW_CFA_restore in a CIE */
		if (reg == REG_RBP) {
			s->rbp_how = initial->rbp_how;
			s->rbp_off = initial->rbp_off;
		} else if (reg == REG_RA) {
			s->ra_undefined = initial->ra_undefined;
		}
		continue;
	}
	return 0;
}

struct find {
	uintptr_t pc;
	const uint8_t *hdr;
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct find *f = arg;
	const uint8_t *hdr = NULL;
	int inside = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->pc >= lo && f->pc < lo + ph->p_memsz)
			inside = 1;
		else if (ph->p_type == PT_GNU_EH_FRAME)
			hdr = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
	}
	if (!inside)
		return 0;
	f->hdr = hdr;
	return 1;
}

/* The FDE covering pc from the object's .eh_frame_hdr table (sorted
 * pairs of datarel sdata4: start, FDE). */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t pc)
{
	if (hdr[0] != 1 || hdr[3] != 0x3b)
		return NULL;
	const uint8_t *p = hdr + 4;
	int ok = 1;
	read_enc(&p, p + 8, hdr[1], (uintptr_t)hdr, &ok);
	uint64_t count = read_enc(&p, p + 8, hdr[2], (uintptr_t)hdr, &ok);
	if (!ok || !count)
		return NULL;
	const int32_t *t = (const int32_t *)p;
	uint64_t lo = 0, hi = count;
	int64_t rel = (int64_t)(pc - (uintptr_t)hdr);
	if (rel < t[0])
		return NULL;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (t[2 * mid] <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return hdr + t[2 * lo + 1];
}

int ma_eh_rule(uintptr_t pc, struct ma_eh_rule *r)
{
	struct find f = {pc, NULL};
	if (!ma_dl_iterate(find_module, &f) || !f.hdr)
		return -1;
	const uint8_t *fde = find_fde(f.hdr, pc);
	if (!fde)
		return -1;
	uint32_t len32, cie_off;
	memcpy(&len32, fde, 4);
	memcpy(&cie_off, fde + 4, 4);
	if (len32 == 0 || len32 == 0xffffffffu || cie_off == 0)
		return -1;
	struct cie cie;
	if (parse_cie(fde + 4 - cie_off, &cie) < 0)
		return -1;
	const uint8_t *p = fde + 8, *end = fde + 4 + len32;
	int ok = 1;
	uint64_t begin = read_enc(&p, end, cie.fde_enc, 0, &ok);
	uint64_t range = read_enc(&p, end, cie.fde_enc & 0x0f, 0, &ok);
	if (!ok || pc < begin || pc >= begin + range)
		return -1;
	if (cie.has_z)
		p += uleb(&p, end);
	struct state s = {REG_RSP, 8, 0, 0, 0}, initial;
	if (run_cfa(cie.insns, cie.end, &cie, begin, UINT64_MAX, &s, NULL) < 0)
		return -1;
	initial = s;
	if (run_cfa(p, end, &cie, begin, pc, &s, &initial) < 0)
		return -1;
	if ((s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP) || s.rbp_how < 0 ||
	    s.cfa_off <= 0 || s.cfa_off > INT32_MAX || s.rbp_off < INT16_MIN || s.rbp_off > 0)
		return -1;
	r->cfa_off = (int32_t)s.cfa_off;
	r->cfa_rbp = s.cfa_reg == REG_RBP;
	r->rbp_saved = s.rbp_how == 1;
	r->rbp_off = (int16_t)s.rbp_off;
	r->end = (uint8_t)s.ra_undefined;
	return 0;
}
