#!/bin/sh
# gen.sh regenerates the macOS fixtures in this directory from Apple's
# sources. See README.md.
#
#   XNU=path/to/xnu.git NETWORK_CMDS=path/to/network_cmds.git ./gen.sh
#
# Both are clones of github.com/apple-oss-distributions/{xnu,network_cmds};
# the tags below are read with git show, so the work trees do not matter.
set -eu

: "${XNU:?the path of a clone of apple-oss-distributions/xnu}"
: "${NETWORK_CMDS:?the path of a clone of apple-oss-distributions/network_cmds}"
CC=${CC:-cc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# struct NAME { ... }; of FILE at TAG.
extract() { # TAG FILE NAME
	git -C "$XNU" show "$1:$2" |
		awk -v s="$3" '$0 ~ "^struct[ \t]+" s "[ \t]*\\{" { p = 1 } p { print } p && /^};/ { exit }'
}

structs() { # TAG
	{
		extract "$1" bsd/netinet/in_pcb.h xinpgen
		extract "$1" bsd/netinet/in_pcb.h xinpcb_n
		extract "$1" bsd/sys/socketvar.h xsocket_n
		extract "$1" bsd/sys/socketvar.h xsockbuf_n
		extract "$1" bsd/sys/socketvar.h xsockstat_n
		extract "$1" bsd/netinet/tcp_var.h xtcpcb_n
	} >"$tmp/structs.h"
}

# stats.h: struct tcpstat of xnu at XTAG, filled with known values, and the
# printing of tcp_stats in netstat.tproj/inet.c of network_cmds at NTAG.
stats() { # XTAG NTAG
	{
		echo '#define INET6 1'
		echo '#define TCP_MAX_SACK 4'
		extract "$1" bsd/netinet/tcp_var.h tcpstat
		cat <<'EOF'
static char *plural(int n) { return (n > 1 ? "s" : ""); }
static char *plurales(int n) { return (n > 1 ? "es" : ""); }
static char *pluralies(int n) { return (n > 1 ? "ies" : "y"); }
static void tcp_stats_fill(struct tcpstat *ts) {
	uint32_t v = 1000;
EOF
		# Every field gets a value of its own, then the ones the tests
		# read get theirs; 0 and 1 test netstat's plural endings.
		extract "$1" bsd/netinet/tcp_var.h tcpstat |
			sed -n 's/^[ \t]*u_int\(32\|64\)_t[ \t]*\([a-z0-9_]*\);.*/\2/p' |
			awk '{ printf "\tts->%s = v; v += 7;\n", $1 }'
		cat <<'EOF'
	ts->tcps_connattempt = 40213;
	ts->tcps_accepts = 40187;
	ts->tcps_conndrops = 1;
	ts->tcps_listendrop = 0;
	ts->tcps_connects = 80400;
	ts->tcps_closed = 80431;
	ts->tcps_drops = 12;
	ts->tcps_badsyn = 0;
	ts->tcps_timeoutdrop = 3;
	ts->tcps_rxtfindrop = 0;
	ts->tcps_keepdrops = 2;
	ts->tcps_rcvafterclose = 117;
	ts->tcps_badrst = 1;
	ts->tcps_pawsdrop = 9;
EOF
		if extract "$1" bsd/netinet/tcp_var.h tcpstat | grep -q tcps_fin_timeout_drops; then
			echo '	ts->tcps_fin_timeout_drops = 5;'
		fi
		cat <<'EOF'
}
static void tcp_stats_print(FILE *out) {
	int sflag = 0;
	struct { int sflag, interval, vflag; } p0 = { 0, 0, 0 }, *params = &p0;
	static struct tcpstat ptcpstat;
	struct tcpstat tcpstat;
	static uint32_t r_swcsum, pr_swcsum;
	static uint32_t t_swcsum, pt_swcsum;
	u_int pcbcount = 117;
	(void)sflag; (void)params;
	tcp_stats_fill(&tcpstat);
#define printf(...) fprintf(out, __VA_ARGS__)
	printf("%s:\n", "tcp");
EOF
		git -C "$NETWORK_CMDS" show "$2:netstat.tproj/inet.c" |
			awk '/^tcp_stats\(/ { f = 1 } f && /TCPDIFF\(f\) \(/ { p = 1 } f && /interval > 0\)/ { exit } p { print }'
		cat <<'EOF'
	if (pcbcount != 0 || params->sflag <= 1 ) {
		printf("\t%u open TCP socket%s\n", pcbcount, plural(pcbcount));
	}
#undef printf
}
EOF
	} >"$tmp/stats.h"
}

build() { # NAME FLAGS...
	name=$1
	shift
	$CC -Wall -Wno-format -Wno-unused -I"$tmp" -o "$tmp/$name" "$@" "$here/gen.c"
}

cd "$here"

# macOS 15 (xnu-11417) and macOS 12 (xnu-8020: struct xsocket_n of 76
# bytes), with the extra fixtures and netstat -s of network_cmds-741.
structs xnu-11417.121.6
stats xnu-11417.121.6 network_cmds-741.100.2
build gen15 -DWITH_EXTRAS -DXSOCKET_N_GENCNT -DWITH_TCP_STATS -DSTATS_TAG='"network_cmds-741"'
"$tmp/gen15" macos15

structs xnu-8020.140.41
build gen12
"$tmp/gen12" macos12

# netstat -s of network_cmds-696 against the xnu of its day.
structs xnu-11215.1.10
stats xnu-11215.1.10 network_cmds-696
build gen696 -DXSOCKET_N_GENCNT -DWITH_TCP_STATS -DSTATS_TAG='"network_cmds-696"'
mkdir "$tmp/696" && (cd "$tmp/696" && "$tmp/gen696" unused >/dev/null && cp netstat-s-p-tcp-network_cmds-696.txt "$here/")
