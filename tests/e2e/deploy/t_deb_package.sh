#!/usr/bin/env bash
# t_deb_package.sh: `make deb` builds the Debian package from a clean copy of the tree
# with no lintian error; `dpkg -i` installs the binaries in /usr/bin, the man pages, the
# unit (pointing at /usr/bin), the conffile /etc/fulcrum/fulcrum.cfg, the `fulcrum`
# user and /var/lib/fulcrum; `fulcrum -t` accepts the packaged config, which also runs
# as the fulcrum user (on free ports); every man page renders without a warning; and
# `dpkg --purge` leaves none of it behind. Needs root (dpkg): CI runs the suite as root.
# e2e: pairs, first
. "$(dirname "$0")/../lib/lib.sh"

[ "$(id -u)" = 0 ] || fail "needs root: it installs and purges the fulcrum package with dpkg (run the suite as root, as CI does)"

# Two runs at once (two checkouts on one machine) would install over each other.
exec 9>/tmp/fulcrum-e2e-deb-package.lock
flock -w 150 9 || fail "another t_deb_package holds /tmp/fulcrum-e2e-deb-package.lock"

if dpkg-query -W -f='${Status}' fulcrum 2>/dev/null | grep -q 'ok installed\|config-files'; then
	fail "a fulcrum package is already on this machine; this test installs and purges its own (dpkg --purge fulcrum first)"
fi
# /var/lib/fulcrum is also fulcrum's default state_dir: a fulcrum run as root without one
# would have made it root's. Neither it nor /etc/fulcrum is there before, so the cleanup
# may remove what a failed purge left of them.
for d in /var/lib/fulcrum /etc/fulcrum; do
	[ ! -e "$d" ] || fail "$d exists before the package is installed: $(ls -la "$d")"
done
HAD_USER=0
getent passwd fulcrum >/dev/null && HAD_USER=1
INSTALLED=0

# deb_cleanup RC: purges the package if it is still installed (a failed step), removes
# what a failed purge left in /var/lib/fulcrum and /etc/fulcrum and the user the package
# created when the machine had none, then runs the harness's cleanup with the test's
# exit status.
deb_cleanup() {
	local rc=$1
	trap - ERR
	set +e
	if [ "$INSTALLED" = 1 ]; then
		dpkg --purge fulcrum >"$T/purge-trap.log" 2>&1 || echo "cleanup: dpkg --purge fulcrum failed: $(cat "$T/purge-trap.log")" >&2
	fi
	rm -rf /var/lib/fulcrum /etc/fulcrum
	if [ "$HAD_USER" = 0 ] && getent passwd fulcrum >/dev/null; then
		userdel fulcrum 2>/dev/null
		getent group fulcrum >/dev/null && groupdel fulcrum 2>/dev/null
	fi
	(exit "$rc")
	e2e_cleanup
}
trap 'deb_cleanup $?' EXIT

# dpkg_do ARGS...: dpkg, tried again for up to 60 s while another process (apt-get of
# a parallel `make deps`) holds the dpkg lock.
dpkg_do() {
	local i
	for ((i = 0; i < 60; i++)); do
		if dpkg "$@" >"$T/dpkg.log" 2>&1; then
			return 0
		fi
		grep -q 'lock' "$T/dpkg.log" || return 1
		sleep 1
	done
	return 1
}

step "make deb (clean copy, lintian)"
DEB=$T/deb
if ! DEB_BUILD_OPTIONS="nocheck parallel=2 noddebs" make -C "$REPO_DIR" --no-print-directory deb DEB_DIR="$DEB" >"$T/make-deb.log" 2>&1; then
	tail -40 "$T/make-deb.log" >&2
	fail "make deb failed"
fi
pkg=$(ls "$DEB"/fulcrum_*.deb)
[ -f "$DEB/lintian.txt" ] || fail "make deb wrote no lintian report"
if grep '^E:' "$DEB/lintian.txt"; then
	fail "lintian errors above"
fi
grep -q 'lintian: 0 errors' "$T/make-deb.log" || fail "make deb printed no lintian summary"
[ -d "$DEB/src/debian" ] || fail "no clean copy in $DEB/src"

step "version: the changelog's is the binary's"
ver=$(dpkg-deb -f "$pkg" Version)
dpkg-deb -x "$pkg" "$T/x"
binver=$("$T/x/usr/bin/fulcrum" --version)
assert_contains "$binver" "fulcrum ${ver%%-*} " "fulcrum --version of the packaged binary"

step "dpkg -i"
INSTALLED=1
dpkg_do -i "$pkg" || fail "dpkg -i failed: $(cat "$T/dpkg.log")"
dpkg-query -W -f='${Status}' fulcrum | grep -q 'install ok installed' || fail "fulcrum not installed: $(dpkg-query -W -f='${Status}' fulcrum)"

MANS="/usr/share/man/man8/fulcrum.8.gz /usr/share/man/man1/fulcrumctl.1.gz /usr/share/man/man5/fulcrum.cfg.5.gz"
FILES="/usr/bin/fulcrum /usr/bin/fulcrumctl /etc/fulcrum/fulcrum.cfg /lib/systemd/system/fulcrum.service $MANS"
for f in $FILES; do
	[ -f "$f" ] || fail "$f not installed"
done
for f in /usr/bin/fulcrum /usr/bin/fulcrumctl; do
	[ -x "$f" ] || fail "$f is not executable"
done
dpkg-query -W -f='${Conffiles}\n' fulcrum | grep -q '^ /etc/fulcrum/fulcrum.cfg ' ||
	fail "/etc/fulcrum/fulcrum.cfg is not a conffile: $(dpkg-query -W -f='${Conffiles}' fulcrum)"
unit=$(cat /lib/systemd/system/fulcrum.service)
assert_contains "$unit" "ExecStart=/usr/bin/fulcrum -c /etc/fulcrum/fulcrum.cfg" "unit"
assert_contains "$unit" "ExecReload=/usr/bin/fulcrumctl reload" "unit"
assert_not_contains "$unit" "/usr/local" "unit"
# --no-enable: installing enabled nothing
[ ! -e /etc/systemd/system/multi-user.target.wants/fulcrum.service ] || fail "the package enabled fulcrum.service"

step "the fulcrum user, /var/lib/fulcrum, the token"
getent passwd fulcrum >/dev/null || fail "no fulcrum user"
pw=$(getent passwd fulcrum)
uid=$(echo "$pw" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "fulcrum is not a system user: $pw"
assert_match "$(echo "$pw" | cut -d: -f7)" 'nologin|false' "fulcrum's shell"
getent group fulcrum >/dev/null || fail "no fulcrum group"
assert_eq "$(stat -c '%U:%G %a' /var/lib/fulcrum)" "fulcrum:fulcrum 700" "/var/lib/fulcrum owner and mode"
assert_eq "$(stat -c '%U:%G %a' /etc/fulcrum/token)" "fulcrum:fulcrum 600" "/etc/fulcrum/token owner and mode"
[ "$(wc -c </etc/fulcrum/token)" -ge 32 ] || fail "/etc/fulcrum/token is too short"

step "fulcrum -t -c /etc/fulcrum/fulcrum.cfg"
rc=0
out=$(/usr/bin/fulcrum -t -c /etc/fulcrum/fulcrum.cfg 2>&1) || rc=$?
assert_eq "$rc" 0 "fulcrum -t exit status ($out)"
assert_contains "$out" "is valid" "fulcrum -t"
# no user/group switch: under the unit fulcrum already is the fulcrum user
if grep -Eq '^[[:space:]]*(user|group)[[:space:]]*=' /etc/fulcrum/fulcrum.cfg; then
	fail "the packaged config sets user or group"
fi

step "the packaged config runs as the fulcrum user (its ports moved to free ones)"
ports P_WEB P_CTL
chmod 0711 "$T"
mkdir -m 0755 "$T/run"
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$P_WEB/" -e "s/127\.0\.0\.1:9000/127.0.0.1:$P_CTL/" \
	/etc/fulcrum/fulcrum.cfg >"$T/run/fulcrum.cfg"
chmod 0644 "$T/run/fulcrum.cfg"
for p in "$P_WEB" "$P_CTL"; do
	grep -q "127.0.0.1:$p" "$T/run/fulcrum.cfg" || fail "the packaged config's listen addresses changed: adapt this test"
done
bg fulcrum-pkg TERM setpriv --reuid=fulcrum --regid=fulcrum --init-groups /usr/bin/fulcrum -c "$T/run/fulcrum.cfg"
pkg_pid=$LAST_PID
wait_listen "$P_WEB" "$pkg_pid" 20
wait_listen "$P_CTL" "$pkg_pid" 20
rc=0
st=$(/usr/bin/fulcrumctl -s "http://127.0.0.1:$P_CTL" --token-file /etc/fulcrum/token status 2>&1) || rc=$?
assert_eq "$rc" 0 "fulcrumctl status with the packaged token ($st)"
assert_eq "$(stat -c %U "/proc/$pkg_pid")" fulcrum "user of the running fulcrum"
ls -la /var/lib/fulcrum >"$T/state-ls.log"
[ -d /var/lib/fulcrum/generations ] || fail "fulcrum wrote no generation in /var/lib/fulcrum"
assert_eq "$(stat -c %U /var/lib/fulcrum/generations)" fulcrum "owner of /var/lib/fulcrum/generations"
rc=0
stop_pid "$pkg_pid" TERM 40 || rc=$?
assert_eq "$rc" 0 "exit status of the packaged fulcrum on SIGTERM"
# the packaged files as they are draw no complaint (the token's mode, the state_dir)
if grep -E ' (warn|error) ' "$T/fulcrum-pkg.log" | grep -v -e 'RLIMIT_NOFILE' -e 'app/app-1'; then
	fail "the packaged fulcrum warned about its setup (above)"
fi

step "man pages render without warnings"
for m in $MANS; do
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "man --warnings -l $m: $warn"
	text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$m" 2>/dev/null)
	assert_contains "$text" "SYNOPSIS" "$m rendered"
done
for page in "8 fulcrum" "1 fulcrumctl" "5 fulcrum.cfg"; do
	# shellcheck disable=SC2086
	p=$(man -w $page 2>/dev/null) || fail "man -w $page finds no page"
	assert_contains "$p" "/usr/share/man/" "man -w $page"
done

step "dpkg --purge"
dpkg_do --purge fulcrum || fail "dpkg --purge failed: $(cat "$T/dpkg.log")"
INSTALLED=0
if grep -qi 'warning' "$T/dpkg.log"; then
	fail "dpkg --purge warned: $(cat "$T/dpkg.log")"
fi
for f in $FILES /etc/fulcrum /var/lib/fulcrum /usr/share/doc/fulcrum /usr/share/fulcrum; do
	[ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
done
if dpkg-query -W -f='${Status}' fulcrum 2>/dev/null | grep -q 'ok installed\|config-files'; then
	fail "dpkg still knows fulcrum: $(dpkg-query -W -f='${Status}' fulcrum)"
fi
echo "ok"
