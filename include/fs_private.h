/* fs_private.h: checks that a file or directory fulcrum trusts (state_dir, token files)
 * can only have been written by the user fulcrum runs as (or root). */
#ifndef FULCRUM_FS_PRIVATE_H
#define FULCRUM_FS_PRIVATE_H

#include <stddef.h>
#include <sys/types.h>

/* 0 when path (symlinks followed) is of kind (S_IFDIR, S_IFREG, or 0 for either), owned
 * by uid or by root, and not writable by group or others, unless it sits on a read-only
 * mount (a Kubernetes Secret volume: its directory is mode 1777 but nobody can write
 * it). Else -1 with err naming what (e.g. "state_dir") and how to fix it. */
int fs_check_private(const char *what, const char *path, mode_t kind, uid_t uid, char *err,
		     size_t errlen);

/* Creates directory path with mode 0700 when it does not exist (its parent must), owned
 * by uid when running as root, then checks it as fs_check_private does; a symbolic link
 * there is refused (path is in a shared directory such as /tmp). 0, or -1 with err. */
int fs_private_dir(const char *what, const char *path, uid_t uid, char *err, size_t errlen);

/* The uid fulcrum runs as once privileges are dropped: user's when set (-1 when there is
 * no such user), else the effective uid. */
uid_t fs_run_uid(const char *user);

#endif
