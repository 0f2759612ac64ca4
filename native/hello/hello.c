/* berth-hello: the `hello` built-in image's program; says hello and what just happened to run it. */
#include <stdio.h>
#include <unistd.h>

static const char message[] =
    "\n"
    "Hello from Berth!\n"
    "This message shows that your installation appears to be working correctly.\n"
    "\n"
    "To generate this message, Berth took the following steps:\n"
    " 1. The berth CLI contacted berthd, the Berth daemon, over its unix socket.\n"
    " 2. berthd found the built-in \"hello\" image (no network needed) and prepared\n"
    "    its root filesystem as an overlay snapshot.\n"
    " 3. berthd started berth-shim, which stays as the container's parent, holds its\n"
    "    output and records how it exits.\n"
    " 4. berth-init set up the namespaces, mounts and privileges from berthd's plan,\n"
    "    then executed this program, whose output the shim streamed back to your\n"
    "    terminal through berthd and the CLI.\n"
    "\n"
    "To try something more ambitious, run a shell in a container:\n"
    " $ berth run -it busybox sh\n"
    "\n";

int main(void) {
	/* One write(2), so the message arrives whole even on a pipe shared with others. */
	size_t len = sizeof(message) - 1;
	const char *p = message;
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0) {
			perror("berth-hello: write");
			return 1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
