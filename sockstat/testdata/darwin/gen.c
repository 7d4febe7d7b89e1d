/*
 * gen.c writes the macOS fixtures of package sockstat's tests: what
 * sysctl net.inet.tcp.pcblist_n returns and what netstat prints, for one
 * set of connections. gen.sh builds it against struct definitions and
 * printf formats taken from Apple's sources at fixed tags; see README.md.
 *
 * It is written for any C compiler with LP64 and #pragma pack, where the
 * structures, all declared under #pragma pack(4) in xnu, have the layout
 * clang gives them on arm64 and x86-64 macOS.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef uint64_t u_quad_t;
typedef u_quad_t inp_gen_t;
typedef u_quad_t so_gen_t;
typedef uint32_t tcp_seq;
typedef uint32_t tcp_cc;
struct in_addr_x { uint32_t s_addr; };
struct in6_addr_x { union { uint8_t b[16]; uint16_t h[8]; uint32_t w[4]; } u; };
#define in_addr in_addr_x
#define in6_addr in6_addr_x
struct in_addr_4in6 { uint32_t ia46_pad32[3]; struct in_addr ia46_addr4; };
struct data_stats { uint64_t rxpackets, rxbytes, txpackets, txbytes; };
#define TCPT_NTIMERS_EXT 4
#define SO_TC_STATS_MAX 4
#define XSO_SOCKET 0x001
#define XSO_RCVBUF 0x002
#define XSO_SNDBUF 0x004
#define XSO_STATS 0x008
#define XSO_INPCB 0x010
#define XSO_TCPCB 0x020
#define INP_IPV4 0x1
#define INP_IPV6 0x2

#pragma pack(4)
#include "structs.h" /* xinpgen, xinpcb_n, xsocket_n, xsockbuf_n, xsockstat_n, xtcpcb_n */
#pragma pack()

#define ROUNDUP64(a) ((a) > 0 ? (1 + (((a) - 1) | (sizeof(uint64_t) - 1))) : sizeof(uint64_t))

enum { CLOSED, LISTEN, SYN_SENT, SYN_RCVD, ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK, FIN_WAIT_2, TIME_WAIT };
static const char *tcpstates[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT",
	"FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT",
};

/* One connection. vflag: INP_IPV4, INP_IPV6 or both. */
struct conn {
	int vflag;
	const char *laddr, *faddr; /* numeric; "" for the unspecified address */
	int lport, fport;
	int state;
	uint64_t gencnt;   /* the pcb's, inp_gencnt */
	uint64_t sogencnt; /* the socket's, so_gencnt */
	int protocol;
	const char *proc;
	int pid;
	unsigned rcvcc, sndcc;
	int pcblist_only; /* 1: netstat would not print it (freed during copyout) */
};

/*
 * The connections, with the target 127.0.0.1:8080 (a twbench run on
 * loopback). sockstat's tests count them; keep the two in step.
 */
static const struct conn conns[] = {
	/* listeners: never counted */
	{INP_IPV4, "127.0.0.1", "", 8080, 0, LISTEN, 101, 1101, 6, "twbench", 4242},
	{INP_IPV4 | INP_IPV6, "", "", 8080, 0, LISTEN, 102, 1102, 6, "nginx", 300},
	/* the client end: remote 127.0.0.1:8080 */
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54321, 8080, ESTABLISHED, 201, 1201, 6, "twbench", 4242, 0, 0},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54322, 8080, TIME_WAIT, 202, 1202, 6, "twbench", 4242},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54323, 8080, TIME_WAIT, 203, 1203, 6, "twbench", 4242},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54324, 8080, FIN_WAIT_2, 204, 1204, 6, "twbench", 4242},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54325, 8080, SYN_SENT, 205, 1205, 6, "twbench", 4242},
	{INP_IPV4, "127.0.0.2", "127.0.0.1", 54326, 8080, TIME_WAIT, 206, 1206, 6, "twbench", 4242},
	/* the server end: local 127.0.0.1:8080 */
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 8080, 54321, ESTABLISHED, 301, 1301, 6, "twbench", 4242, 0, 0},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 8080, 54330, TIME_WAIT, 302, 1302, 6, "twbench", 4242},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 8080, 54331, CLOSE_WAIT, 303, 1303, 6, "twbench", 4242, 517, 0},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 8080, 54332, LAST_ACK, 304, 1304, 6, "twbench", 4242},
	/* an IPv6 socket of a dual-stack listener with IPv4-mapped addresses */
	{INP_IPV6, "::ffff:127.0.0.1", "::ffff:127.0.0.1", 8080, 54333, TIME_WAIT, 305, 1305, 6, "nginx", 300},
	/* IPv6 loopback on the same port: the target's port, not its address */
	{INP_IPV6, "::1", "::1", 54340, 8080, TIME_WAIT, 401, 1401, 6, "curl", 5150},
	{INP_IPV6, "::1", "::1", 8080, 54340, FIN_WAIT_1, 402, 1402, 6, "nginx", 300, 0, 96},
	{INP_IPV6, "fe80::1%lo0", "fe80::1%lo0", 54341, 8080, ESTABLISHED, 403, 1403, 6, "curl", 5150},
	/* another address on the same port, and another port */
	{INP_IPV4, "127.0.0.1", "127.0.0.3", 54350, 8080, TIME_WAIT, 501, 1501, 6, "Google Chrome He", 777},
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 8081, 54351, TIME_WAIT, 502, 1502, 6, "twbench", 4242},
	{INP_IPV4, "192.168.1.20", "17.253.144.10", 50123, 443, ESTABLISHED, 503, 1503, 6, "Safari", 901},
	{INP_IPV6, "2001:db8:85a3::8a2e:370:7334", "2606:4700:4700::1111", 50124, 8080, CLOSING, 504, 1504, 6, "curl", 5151},
	/* a socket not yet connected */
	{INP_IPV4, "", "", 0, 0, CLOSED, 601, 1601, 6, "twbench", 4242},
	/* a flow of the user-space stack: no generation counts */
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54360, 8080, TIME_WAIT, 0, 0, 6, "", 0},
	/* a pcb freed and reallocated while the list was copied out */
	{INP_IPV4, "127.0.0.1", "127.0.0.1", 54370, 8080, ESTABLISHED, 9001, 9001, 6, "twbench", 4242, 0, 0, 1},
};
#define NCONNS (sizeof(conns) / sizeof(conns[0]))
#define XIG_GEN 9000 /* below the last pcb's generation count */

static void
setaddr(int v4, const char *s, void *field)
{
	struct in_addr_4in6 *a4 = field;
	char buf[64], *pct;

	memset(field, 0, 16);
	if (*s == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0'; /* the zone is not in the address */
	if (v4) {
		if (inet_pton(AF_INET, buf, &a4->ia46_addr4) != 1)
			abort();
	} else {
		uint8_t *b = field;

		if (inet_pton(AF_INET6, buf, field) != 1)
			abort();
		/* KAME's embedded scope: lo0 is interface 1 */
		if (pct != NULL && b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			b[3] = 1;
	}
}

static void
put(FILE *f, const void *p, size_t n)
{
	static const char zero[8];

	fwrite(p, 1, n, f);
	fwrite(zero, 1, ROUNDUP64(n) - n, f);
}

/* pcblist writes what get_pcblist_n (bsd/netinet/in_pcblist.c) writes. */
static void
pcblist(const char *path)
{
	FILE *f = fopen(path, "wb");
	struct xinpgen xig;
	size_t i;

	memset(&xig, 0, sizeof(xig));
	xig.xig_len = sizeof(xig);
	xig.xig_count = NCONNS;
	xig.xig_gen = XIG_GEN;
	xig.xig_sogen = 20000;
	fwrite(&xig, 1, sizeof(xig), f);
	for (i = 0; i < NCONNS; i++) {
		const struct conn *c = &conns[i];
		struct xinpcb_n xi;
		struct xsocket_n xso;
		struct xsockbuf_n rcv, snd;
		struct xsockstat_n st;
		struct xtcpcb_n xt;
		int v4 = (c->vflag & INP_IPV4) != 0;

		memset(&xi, 0, sizeof(xi));
		xi.xi_len = sizeof(xi);
		xi.xi_kind = XSO_INPCB;
		xi.xi_inpp = 0xfeedface00000000ULL + i;
		xi.inp_fport = htons(c->fport);
		xi.inp_lport = htons(c->lport);
		xi.inp_ppcb = 0xdeadbeef00000000ULL + i;
		xi.inp_gencnt = c->gencnt;
		xi.inp_vflag = c->vflag;
		xi.inp_ip_ttl = 64;
		xi.inp_ip_p = 6;
		setaddr(v4, c->faddr, &xi.inp_dependfaddr);
		setaddr(v4, c->laddr, &xi.inp_dependladdr);
		xi.inp_flowhash = 0x5eed0000 + i;

		memset(&xso, 0, sizeof(xso));
		xso.xso_len = sizeof(xso);
		xso.xso_kind = XSO_SOCKET;
		xso.xso_so = 0xc0ffee0000000000ULL + i;
		xso.so_type = 1; /* SOCK_STREAM */
		xso.xso_protocol = c->protocol;
		xso.xso_family = v4 ? 2 : 30; /* AF_INET, AF_INET6 on macOS */
		xso.so_last_pid = c->pid;
#ifdef XSOCKET_N_GENCNT
		xso.so_gencnt = c->sogencnt;
#endif

		memset(&rcv, 0, sizeof(rcv));
		rcv.xsb_len = sizeof(rcv);
		rcv.xsb_kind = XSO_RCVBUF;
		rcv.sb_cc = c->rcvcc;
		rcv.sb_hiwat = 408300;
		snd = rcv;
		snd.xsb_kind = XSO_SNDBUF;
		snd.sb_cc = c->sndcc;
		snd.sb_hiwat = 146988;

		memset(&st, 0, sizeof(st));
		st.xst_len = sizeof(st);
		st.xst_kind = XSO_STATS;
		st.xst_tc_stats[0].rxbytes = 1000 + i;
		st.xst_tc_stats[0].txbytes = 2000 + i;

		memset(&xt, 0, sizeof(xt));
		xt.xt_len = sizeof(xt);
		xt.xt_kind = XSO_TCPCB;
		xt.t_state = c->state;
		if (c->state == TIME_WAIT)
			xt.t_timer[3] = 123456789 + 30000; /* TCPT_2MSL_EXT: tcp_now + 2 * tcp_msl */
		xt.t_rcvtime = 123456789;

		put(f, &xi, sizeof(xi));
		put(f, &xso, sizeof(xso));
		put(f, &rcv, sizeof(rcv));
		put(f, &snd, sizeof(snd));
		put(f, &st, sizeof(st));
		put(f, &xt, sizeof(xt));
	}
	xig.xig_gen = XIG_GEN + 7; /* the closing xinpgen: the list changed meanwhile */
	fwrite(&xig, 1, sizeof(xig), f);
	fclose(f);
}

/* pcblist_empty writes the list of a kernel without TCP pcbs. */
static void
pcblist_empty(const char *path)
{
	FILE *f = fopen(path, "wb");
	struct xinpgen xig;

	memset(&xig, 0, sizeof(xig));
	xig.xig_len = sizeof(xig);
	xig.xig_gen = 1;
	xig.xig_sogen = 1;
	fwrite(&xig, 1, sizeof(xig), f);
	fclose(f);
}

/*
 * The address columns, as inetprint (netstat.tproj/inet.c) and inet6print
 * (netstat.tproj/inet6.c) print them with -n: lflag is -l.
 */
static void
inetprint(FILE *f, int lflag, const char *addr, int port)
{
	char line[80], *cp;
	int width;

	snprintf(line, sizeof(line), "%.*s.", 16, *addr ? addr : "*");
	cp = strchr(line, '\0');
	if (port == 0)
		snprintf(cp, sizeof(line) - (cp - line), "%.15s ", "*");
	else
		snprintf(cp, sizeof(line) - (cp - line), "%d ", port);
	width = lflag ? 45 : 22;
	fprintf(f, "%-*.*s ", width, width, line);
}

static void
inet6print(FILE *f, int lflag, const char *addr, int port)
{
	char line[80], *cp;
	int width;

	snprintf(line, sizeof(line), "%.*s.", lflag ? 39 : 16, *addr ? addr : "*");
	cp = strchr(line, '\0');
	if (port == 0)
		snprintf(cp, sizeof(line) - (cp - line), "%.15s", "*");
	else
		snprintf(cp, sizeof(line) - (cp - line), "%d", port);
	width = lflag ? 45 : 22;
	fprintf(f, "%-*.*s ", width, width, line);
}

/*
 * netstat writes netstat -an[l][v] -p tcp as protopr (netstat.tproj/inet.c)
 * does. vstyle: 0 without -v; 696 the -v columns of network_cmds-696
 * (protopr); 741 those of network_cmds-741 (print_socket_stats_format and
 * print_socket_stats_data, netstat.tproj/main.c).
 */
static void
netstat(const char *path, int lflag, int vstyle)
{
	FILE *f = fopen(path, "w");
	size_t i;

	fprintf(f, "Active Internet connections (including servers)\n");
	fprintf(f, "%-5.5s %-6.6s %-6.6s  ", "Proto", "Recv-Q", "Send-Q");
	if (lflag)
		fprintf(f, "%-45.45s %-45.45s ", "Local Address", "Foreign Address");
	else
		fprintf(f, "%-22.22s %-22.22s ", "Local Address", "Foreign Address");
	fprintf(f, "%-11.11s", "(state)");
	if (vstyle == 696) {
		fprintf(f, " %10.10s %10.10s", "rxbytes", "txbytes");
		fprintf(f, " %7.7s %7.7s %6.6s %6.6s %5.5s %8.8s",
		    "rhiwat", "shiwat", "pid", "epid", "state", "options");
		fprintf(f, " %16.16s %8.8s %8.8s %6s %6s %5s",
		    "gencnt", "flags", "flags1", "usecnt", "rtncnt", "fltrs");
	} else if (vstyle == 741) {
		fprintf(f, " %12.12s %12.12s", "rxbytes", "txbytes");
		fprintf(f, " %7.7s %7.7s %16s:%-6s",
		    "rhiwat", "shiwat", "process", "pid");
		fprintf(f, " %5.5s %8.8s %16.16s %8.8s %8.8s %6s %6s %5s",
		    "state", "options", "gencnt", "flags", "flags1", "usecnt", "rtncnt", "fltrs");
	}
	fprintf(f, "\n");
	for (i = 0; i < NCONNS; i++) {
		const struct conn *c = &conns[i];
		const char *vchar;

		if (c->pcblist_only)
			continue;
		if (c->vflag & INP_IPV6)
			vchar = (c->vflag & INP_IPV4) ? "46" : "6 ";
		else
			vchar = (c->vflag & INP_IPV4) ? "4 " : "  ";
		fprintf(f, "%-3.3s%-2.2s %6u %6u  ", "tcp", vchar, c->rcvcc, c->sndcc);
		if (c->vflag & INP_IPV4) {
			inetprint(f, lflag, c->laddr, c->lport);
			inetprint(f, lflag, c->faddr, c->fport);
		} else {
			inet6print(f, lflag, c->laddr, c->lport);
			inet6print(f, lflag, c->faddr, c->fport);
		}
		fprintf(f, "%-11s", tcpstates[c->state]);
		if (vstyle == 696) {
			fprintf(f, " %10llu %10llu", 1000ULL + i, 2000ULL + i);
			fprintf(f, " %7u %7u %6u %6u %05x %08x",
			    408300, 146988, c->pid, 0, 0x102, 0x104);
			fprintf(f, " %016llx %08x %08x %6d %6d %06x",
			    (unsigned long long)c->sogencnt, 0x1000000, 0, 1, 0, 0);
		} else if (vstyle == 741) {
			fprintf(f, " %12llu %12llu", 1000ULL + i, 2000ULL + i);
			fprintf(f, " %7u %7u %16s:%-6u",
			    408300, 146988, c->proc, c->pid);
			fprintf(f, " %05x %08x %016llx %08x %08x %6d %6d %06x",
			    0x102, 0x104, (unsigned long long)c->sogencnt, 0x1000000, 0, 1, 0, 0);
		}
		fputc('\n', f);
	}
	fclose(f);
}

#ifdef WITH_TCP_STATS
#include "stats.h" /* struct tcpstat, tcp_stats_fill(), tcp_stats_print() */
#endif

int
main(int argc, char **argv)
{
	const char *tag = argc > 1 ? argv[1] : "xnu";
	char path[256];

	snprintf(path, sizeof(path), "pcblist_n-%s.bin", tag);
	pcblist(path);
#ifdef WITH_EXTRAS
	pcblist_empty("pcblist_n-empty.bin");
	netstat("netstat-an.txt", 0, 0);
	netstat("netstat-anl.txt", 1, 0);
	netstat("netstat-anlv-network_cmds-696.txt", 1, 696);
	netstat("netstat-anlv-network_cmds-741.txt", 1, 741);
#endif
#ifdef WITH_TCP_STATS
	{
		FILE *f;
		snprintf(path, sizeof(path), "netstat-s-p-tcp-%s.txt", STATS_TAG);
		f = fopen(path, "w");
		tcp_stats_print(f);
		fclose(f);
	}
#endif
	printf("sizes: xinpgen %zu xinpcb_n %zu xsocket_n %zu xsockbuf_n %zu xsockstat_n %zu xtcpcb_n %zu\n",
	    sizeof(struct xinpgen), sizeof(struct xinpcb_n), sizeof(struct xsocket_n),
	    sizeof(struct xsockbuf_n), sizeof(struct xsockstat_n), sizeof(struct xtcpcb_n));
	return 0;
}
