/* fake_agent.c — a library the target loads itself under the agent's
 * name (libmemattach-agent.so), with the agent's entry point: were
 * memattach to take it for its own agent, it would call it.  The call
 * leaves its mark: it creates the file named by $MA_FAKE_MARK. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int memattach_agent_start(const char *config)
{
	const char *mark = getenv("MA_FAKE_MARK");
	(void)config;
	if (mark) {
		int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
