/* fs_private.c: ownership and mode checks of the paths fulcrum trusts: a state_dir or
 * token file another local user can write would let them plant a journal or a token. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_private.h"

int fs_check_private(const char *what, const char *path, mode_t kind, uid_t uid, char *err,
		     size_t errlen)
{
	struct statvfs vfs;
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (kind && (st.st_mode & S_IFMT) != kind) {
		snprintf(err, errlen, "%s %s is not a %s", what, path,
			 kind == S_IFDIR ? "directory" : "regular file");
		return -1;
	}
	if (st.st_uid != uid && st.st_uid != 0) {
		snprintf(err, errlen, "%s %s is owned by uid %u, not by the user fulcrum runs as "
			 "(uid %u) or root: another user could have written it; chown it",
			 what, path, (unsigned)st.st_uid, (unsigned)uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))) {
		snprintf(err, errlen, "%s %s is writable by %s (mode %04o): another user could "
			 "change it; chmod go-w it", what, path,
			 (st.st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int fs_private_dir(const char *what, const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		/* made by root for the user it will run as: theirs from the start */
		if (geteuid() == 0 && uid != 0 && chown(path, uid, (gid_t)-1) == -1) {
			snprintf(err, errlen, "%s %s: chown: %s", what, path, strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "%s %s cannot be created: %s", what, path, strerror(errno));
		return -1;
	}
	/* a link planted in a shared directory could point at any directory root owns */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s %s is a symbolic link (someone else may have made it); "
			 "remove it", what, path);
		return -1;
	}
	return fs_check_private(what, path, S_IFDIR, uid, err, errlen);
}

uid_t fs_run_uid(const char *user)
{
	struct passwd *pw;

	if (!user)
		return geteuid();
	pw = getpwnam(user);
	return pw ? pw->pw_uid : (uid_t)-1;
}
