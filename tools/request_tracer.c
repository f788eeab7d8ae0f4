/* request_tracer.c: linked only into the traced build of tools/request_path.sh. gcc's
 * -finstrument-functions calls these two hooks at every function entry and exit; each
 * thread writes its own file of "E addr" / "X addr" lines (TRACE_DIR/trace.TID) for
 * tools/request_path.py to map to source files. Not part of fulcrum. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread FILE *trace_file;

__attribute__((no_instrument_function)) static FILE *trace_open(void)
{
	const char *dir = getenv("TRACE_DIR");
	char name[512];

	if (!trace_file && dir) {
		snprintf(name, sizeof(name), "%s/trace.%ld", dir, (long)syscall(SYS_gettid));
		trace_file = fopen(name, "w");
		if (trace_file)
			setvbuf(trace_file, NULL, _IOLBF, 0);  /* a killed process loses nothing */
	}
	return trace_file;
}

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site)
{
	FILE *f = trace_open();

	(void)site;
	if (f)
		fprintf(f, "E %p\n", fn);
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site)
{
	FILE *f = trace_open();

	(void)site;
	if (f)
		fprintf(f, "X %p\n", fn);
}
