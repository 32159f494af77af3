/* SPDX-License-Identifier: MIT */
#include "sim_control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const struct {
	const char *mark, *cmd;
} actions[] = {
	{"fob_trunk_pressed", "press fob_trunk"},
	{"fob_lock_pressed", "press fob_lock"},
	{"fob_unlock_pressed", "press fob_unlock"},
	{"interior_pressed", "press interior"},
	{"exterior_pressed", "press exterior"},
	{"key_blade_turned", "key_blade"},
};

const char *sim_control_command(const char *mark)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].mark, mark) == 0)
			return actions[i].cmd;
	return NULL;
}

const char *sim_control_mark(const char *command)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].cmd, command) == 0)
			return actions[i].mark;
	return NULL;
}

int sim_control_do(const char *path, const char *command, char *reply, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0;
	int fd, r = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    dprintf(fd, "%s\n", command) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	while (len + 1 < size) {
		ssize_t n = read(fd, reply + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || reply[len] == '\n')
			break;
		len++;
	}
	reply[len] = 0;
	close(fd);
	return 0;
}
