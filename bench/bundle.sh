# shellcheck shell=sh
# Sourced by the benchmarks (not run: not executable, so scripts/bench skips
# it). busybox_bundle DIR: a busybox bundle in DIR as the tests make it,
# config.json from `husk spec` with no terminal.
busybox_bundle() {
	mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/sys" "$1/rootfs/dev" "$1/rootfs/tmp"
	cp /bin/busybox "$1/rootfs/bin/busybox"
	mkdir -p "$1/rootfs/usr" && ln -s ../bin "$1/rootfs/usr/bin"
	/bin/busybox --install -s "$1/rootfs/bin"
	build/husk spec --bundle "$1"
	jq '.process.terminal = false' "$1/config.json" >"$1/c" && mv "$1/c" "$1/config.json"
}
