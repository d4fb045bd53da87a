/* agent_build_id.c — the agent a target maps, told by its build id when
 * its file cannot be read: a user (not root) may not open
 * /proc/PID/map_files, and a container's copy is gone once loaded.  The
 * build id is read from the target's memory (the first mapping holds the
 * ELF header, the program headers and the note), compared with our
 * agent's.  A weaker check than the bytes (a process could forge one),
 * taken only for processes the user may trace anyway. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cli/cmd/agent_build_id.h"

#define HEAD_MAX 16384

/* The GNU build id in the notes of an ELF image's first len bytes (as
 * mapped from offset 0, or as read from the file): its length, 0 none. */
static size_t find_build_id(const unsigned char *b, size_t len, const unsigned char **id)
{
	Elf64_Ehdr eh;
	if (len < sizeof eh)
		return 0;
	memcpy(&eh, b, sizeof eh);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len || eh.e_phnum > (len - eh.e_phoff) / sizeof(Elf64_Phdr))
		return 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_NOTE || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			continue;
		for (size_t o = ph.p_offset; o + sizeof(Elf64_Nhdr) <= ph.p_offset + ph.p_filesz;) {
			Elf64_Nhdr nh;
			memcpy(&nh, b + o, sizeof nh);
			size_t name = o + sizeof nh, desc = name + ((nh.n_namesz + 3) & ~3u);
			if (desc + nh.n_descsz > ph.p_offset + ph.p_filesz)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(b + name, "GNU", 4)) {
				*id = b + desc;
				return nh.n_descsz;
			}
			o = desc + ((nh.n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

int ma_agent_build_id_matches(pid_t pid, uint64_t start, uint64_t end, const char *agent)
{
	unsigned char theirs[HEAD_MAX], mine[HEAD_MAX];
	size_t want = end - start < HEAD_MAX ? (size_t)(end - start) : HEAD_MAX;
	struct iovec l = { theirs, want }, r = { (void *)(uintptr_t)start, want };
	ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
	int fd = open(agent, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, mine, sizeof mine, 0) : -1;
	if (fd >= 0)
		close(fd);
	const unsigned char *a = NULL, *b = NULL;
	size_t la = got > 0 ? find_build_id(theirs, (size_t)got, &a) : 0;
	size_t lb = n > 0 ? find_build_id(mine, (size_t)n, &b) : 0;
	return la && la == lb && !memcmp(a, b, la);
}
