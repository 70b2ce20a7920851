/*
 * skillvl-guest: the lab guest's workload (static, runs from the initramfs).
 *
 * - heartbeat every skillvl.hb_ms on stdout (the serial console):
 *     SKILLVL-BOOT ...            once, with the parameters
 *     SKILLVL-HB seq=<n> uptime_ms=<ms> mem_mib=<N> rate_mib=<R> passes=<p> memerr=<e>
 * - memory writer thread: rewrites skillvl.mem_mib MiB page by page at skillvl.rate_mib
 *   MiB/s (0 = unthrottled); every pass first verifies the previous pass's pattern
 *   (mismatching pages count as memerr and are reported as SKILLVL-MEMERR lines).
 * - CPU load thread: busy for skillvl.cpu_pct % of every 100 ms (stress-ng --cpu-load's way).
 * - disk heartbeat thread (when /dev/vda exists): sector 0 a header, sector
 *   1 + (seq % 2048) a record with a CRC-32; O_DIRECT|O_SYNC, never past 1 MiB + 512 B.
 * - TCP responder on port 8080: answers every connection with the latest heartbeat line
 *   (as a minimal HTTP/1.0 response, so that both nc and curl work), except two requests:
 *     LOAD [mem_mib=N] [rate_mib=R] [cpu_pct=P]\n  changes the load at run time (a new
 *        region size starts a new region, whose first pass is not verified);
 *        answers "LOAD mem_mib=N rate_mib=R cpu_pct=P\n" (the load now in force)
 *     PI N\n  estimates pi from N random points (Monte Carlo, N <= 10^8), the research's
 *        client/server service; answers "PI <estimate> n=<N> us=<microseconds>\n"
 *     WRITE offset_mib=O mib=N byte=B\n  fills N MiB of the disk from O MiB on (O >= 2,
 *        clear of the heartbeat) with byte B and syncs it, a known amount of writing for the
 *        tests of incremental disk copies; answers "WRITE offset_mib=O mib=N byte=B us=<us>\n"
 *   (the lab guest is a test workload: its port is open to whoever reaches its network).
 *
 * Parameters come from /proc/cmdline, or from argv[1] (for tests on the build machine);
 * SKILLVL_DISK overrides the disk path (default /dev/vda).
 * - ACPI power button (virsh shutdown): prints SKILLVL-POWEROFF and powers off, when run
 *   as the guest (SKILLVL_POWER_BUTTON=1, set by /init).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define CHUNK_PAGES 16UL           /* pacing granularity: 64 KiB */
#define DISK_SLOTS 2048ULL
#define SECTOR 512
#define MAX_BEHIND_NS 200000000LL  /* writer: forget pacing debt beyond 200 ms */
#define MAX_MEMERR_LINES 20

#define MAX_PI_POINTS 100000000ULL
#define MIB (1ULL << 20)
#define WRITE_FIRST_MIB 2UL       /* WRITE stays clear of the heartbeat's first MiB + 512 B */

static unsigned long hb_ms = 500;
static volatile unsigned long mem_mib, rate_mib, cpu_pct;   /* the load; LOAD changes it */
static uint32_t boot_id;
static volatile uint64_t passes, memerr, hb_seq, hb_uptime;
static char last_line[256] = "SKILLVL-HB none\n";
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t disk_cond = PTHREAD_COND_INITIALIZER;
static uint64_t disk_pending;      /* seq + 1 of the record to write; 0 = none */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000ULL), (long)(t % 1000000000ULL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* One line, one write(2): lines of different threads never interleave. */
static void emit(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	pthread_mutex_lock(&out_lock);
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (int)w;
	}
	pthread_mutex_unlock(&out_lock);
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return c ^ 0xFFFFFFFFu;
}

static void parse_params(const char *cmdline)
{
	const char *p = cmdline;
	while (p && *p) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		if (!strncmp(p, "skillvl.hb_ms=", 14))
			hb_ms = strtoul(p + 14, NULL, 10);
		else if (!strncmp(p, "skillvl.mem_mib=", 16))
			mem_mib = strtoul(p + 16, NULL, 10);
		else if (!strncmp(p, "skillvl.rate_mib=", 17))
			rate_mib = strtoul(p + 17, NULL, 10);
		else if (!strncmp(p, "skillvl.cpu_pct=", 16))
			cpu_pct = strtoul(p + 16, NULL, 10);
		p = strpbrk(p, " \t\n");
	}
	if (cpu_pct > 100)
		cpu_pct = 100;
	if (hb_ms < 10)
		hb_ms = 10;
	if (hb_ms > 60000)
		hb_ms = 60000;
}

/* ---- memory writer -------------------------------------------------------------- */

static inline uint64_t pattern(uint64_t pass, uint64_t page)
{
	uint64_t x = (pass + 1) * 0x9E3779B97F4A7C15ULL ^ (page << 1);
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ULL;
	return x ^ (x >> 29);
}

static uint64_t chunk_ns(unsigned long rate)
{
	return rate ? (CHUNK_PAGES * PAGE * 1000000000ULL) / ((uint64_t)rate << 20) : 0;
}

/* Rewrites the region; a new size (LOAD) ends the pass and maps a new region. */
static void *writer(void *arg)
{
	uint64_t *mem = NULL;
	size_t bytes = 0, npages = 0;
	unsigned long cur_mib = 0, cur_rate = rate_mib, reported = 0;
	uint64_t ns_per_chunk = chunk_ns(cur_rate), next = now_ns(), pass = 0;

	(void)arg;
	for (;;) {
		unsigned long want = __atomic_load_n(&mem_mib, __ATOMIC_RELAXED);
		int ended = 1;

		if (want != cur_mib || !mem) {
			if (mem)
				munmap(mem, bytes);
			mem = NULL;
			cur_mib = want;
			pass = 0;
			if (!want) {
				usleep(100000);
				continue;
			}
			bytes = (size_t)want << 20;
			npages = bytes / PAGE;
			mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			if (mem == MAP_FAILED) {
				emit("SKILLVL-ERROR writer: cannot map %lu MiB: %s\n", want, strerror(errno));
				mem = NULL;
				__atomic_store_n(&mem_mib, 0UL, __ATOMIC_RELAXED);
				cur_mib = 0;
				continue;
			}
			next = now_ns();
		}
		for (size_t pg = 0; pg < npages; pg++) {
			uint64_t *w = mem + pg * (PAGE / 8);
			uint64_t old = pattern(pass - 1, pg), val = pattern(pass, pg), found = 0;
			size_t bad = 0;   /* 1 + index of the first wrong word */

			for (size_t k = 0; k < PAGE / 8; k++) {
				if (pass && w[k] != old + k && !bad) {
					bad = k + 1;
					found = w[k];
				}
				w[k] = val + k;
			}
			if (bad) {
				uint64_t e = __atomic_add_fetch(&memerr, 1, __ATOMIC_RELAXED);
				if (reported++ < MAX_MEMERR_LINES)
					emit("SKILLVL-MEMERR pass=%llu page=%zu word=%zu found=%016llx expected=%016llx total=%llu\n",
					     (unsigned long long)pass, pg, bad - 1, (unsigned long long)found,
					     (unsigned long long)(old + bad - 1), (unsigned long long)e);
			}
			if ((pg + 1) % CHUNK_PAGES == 0) {
				unsigned long rate = __atomic_load_n(&rate_mib, __ATOMIC_RELAXED);
				uint64_t now;

				if (__atomic_load_n(&mem_mib, __ATOMIC_RELAXED) != cur_mib) {
					ended = 0;   /* a new size: this region's pass ends here */
					break;
				}
				if (rate != cur_rate) {
					cur_rate = rate;
					ns_per_chunk = chunk_ns(rate);
					next = now_ns();
				}
				if (!ns_per_chunk)
					continue;
				next += ns_per_chunk;
				now = now_ns();
				if (now < next)
					sleep_until(next);
				else if (now > next + MAX_BEHIND_NS)
					next = now;  /* paused (e.g. migration downtime): no burst */
			}
		}
		if (ended) {
			__atomic_add_fetch(&passes, 1, __ATOMIC_RELAXED);
			pass++;
		}
	}
	return NULL;
}

/* ---- CPU load ------------------------------------------------------------------- */

static void *cpu_load(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned long pct = __atomic_load_n(&cpu_pct, __ATOMIC_RELAXED);
		uint64_t start = now_ns(), busy_until = start + pct * 1000000ULL;
		volatile uint64_t spin = 0;

		while (now_ns() < busy_until)
			for (int k = 0; k < 1000; k++)
				spin += (uint64_t)k;
		sleep_until(start + 100000000ULL);
	}
	return NULL;
}

/* ---- the pi service and the load control ------------------------------------------ */

static double estimate_pi(uint64_t n)
{
	uint64_t x = now_ns() | 1, inside = 0;

	for (uint64_t i = 0; i < n; i++) {
		double a, b;
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		a = (double)(x >> 11) / 9007199254740992.0;
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		b = (double)(x >> 11) / 9007199254740992.0;
		inside += a * a + b * b <= 1.0;
	}
	return n ? 4.0 * (double)inside / (double)n : 0.0;
}

static const char *disk_path = "/dev/vda";

static unsigned long field(const char *req, const char *key, unsigned long missing)
{
	for (const char *p = strstr(req, key); p; p = strstr(p + 1, key))
		if (p == req || p[-1] == ' ')
			return strtoul(p + strlen(key), NULL, 10);
	return missing;
}

/* WRITE: fill mib MiB of the disk from offset_mib on with one byte value, synced. */
static int fill_disk(const char *req, char *resp, size_t size)
{
	static unsigned char block[MIB];
	unsigned long off = field(req, "offset_mib=", 0), mib = field(req, "mib=", 0);
	unsigned long byte = field(req, "byte=", 256);
	uint64_t t0 = now_ns();
	off_t end;
	int fd;

	if (off < WRITE_FIRST_MIB || mib == 0 || byte > 255)
		return snprintf(resp, size, "WRITE-ERROR offset_mib must be %lu or more, mib 1 or more, "
				"byte 0 to 255\n", WRITE_FIRST_MIB);
	fd = open(disk_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return snprintf(resp, size, "WRITE-ERROR %s: %s\n", disk_path, strerror(errno));
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (uint64_t)(off + mib) * MIB > (uint64_t)end) {
		close(fd);
		return snprintf(resp, size, "WRITE-ERROR %s has %llu MiB, not %lu\n", disk_path,
				(unsigned long long)(end > 0 ? (uint64_t)end / MIB : 0), off + mib);
	}
	memset(block, (int)byte, sizeof(block));
	for (unsigned long i = 0; i < mib; i++) {
		if (pwrite(fd, block, sizeof(block), (off_t)((off + i) * MIB)) != (ssize_t)sizeof(block)) {
			int err = errno;
			close(fd);
			return snprintf(resp, size, "WRITE-ERROR at %lu MiB: %s\n", off + i, strerror(err));
		}
	}
	if (fdatasync(fd)) {
		int err = errno;
		close(fd);
		return snprintf(resp, size, "WRITE-ERROR sync: %s\n", strerror(err));
	}
	close(fd);
	emit("SKILLVL-WRITE offset_mib=%lu mib=%lu byte=%lu\n", off, mib, byte);
	return snprintf(resp, size, "WRITE offset_mib=%lu mib=%lu byte=%lu us=%llu\n", off, mib, byte,
			(unsigned long long)((now_ns() - t0) / 1000ULL));
}

/* LOAD, PI and WRITE requests (see the top of the file): the answer in resp, 0 if req is none. */
static int control(const char *req, char *resp, size_t size)
{
	if (!strncmp(req, "LOAD", 4) && (req[4] == ' ' || req[4] == '\n' || req[4] == '\r')) {
		const char *p = req + 4;
		unsigned long mem = mem_mib, rate = rate_mib, cpu = cpu_pct;

		while ((p = strpbrk(p, " \t")) != NULL) {
			p += strspn(p, " \t");
			if (!strncmp(p, "mem_mib=", 8))
				mem = strtoul(p + 8, NULL, 10);
			else if (!strncmp(p, "rate_mib=", 9))
				rate = strtoul(p + 9, NULL, 10);
			else if (!strncmp(p, "cpu_pct=", 8))
				cpu = strtoul(p + 8, NULL, 10);
		}
		if (cpu > 100)
			return snprintf(resp, size, "LOAD-ERROR cpu_pct must be 0 to 100\n");
		__atomic_store_n(&rate_mib, rate, __ATOMIC_RELAXED);
		__atomic_store_n(&cpu_pct, cpu, __ATOMIC_RELAXED);
		__atomic_store_n(&mem_mib, mem, __ATOMIC_RELAXED);
		emit("SKILLVL-LOAD mem_mib=%lu rate_mib=%lu cpu_pct=%lu\n", mem, rate, cpu);
		return snprintf(resp, size, "LOAD mem_mib=%lu rate_mib=%lu cpu_pct=%lu\n", mem, rate, cpu);
	}
	if (!strncmp(req, "PI ", 3)) {
		uint64_t n = strtoull(req + 3, NULL, 10), t0 = now_ns();
		double pi;

		if (n > MAX_PI_POINTS)
			return snprintf(resp, size, "PI-ERROR at most %llu points\n", MAX_PI_POINTS);
		pi = estimate_pi(n);
		return snprintf(resp, size, "PI %.6f n=%llu us=%llu\n", pi, (unsigned long long)n,
				(unsigned long long)((now_ns() - t0) / 1000ULL));
	}
	if (!strncmp(req, "WRITE ", 6))
		return fill_disk(req, resp, size);
	return 0;
}

/* ---- disk heartbeat ------------------------------------------------------------- */

static void *disk_writer(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_RDWR | O_DIRECT | O_SYNC);
	unsigned char *buf;

	if (fd < 0)
		fd = open(path, O_RDWR | O_SYNC);  /* e.g. a regular file on tmpfs */
	if (fd < 0) {
		emit("SKILLVL-ERROR disk %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (posix_memalign((void **)&buf, 4096, 4096)) {
		close(fd);
		return NULL;
	}
	memset(buf, 0, SECTOR);
	snprintf((char *)buf, SECTOR,
		 "SKILLVL-HBDISK v1\nboot=%08x hb_ms=%lu mem_mib=%lu rate_mib=%lu slots=%llu\n",
		 boot_id, hb_ms, mem_mib, rate_mib, DISK_SLOTS);
	if (pwrite(fd, buf, SECTOR, 0) != SECTOR)
		emit("SKILLVL-ERROR disk header: %s\n", strerror(errno));

	for (;;) {
		uint64_t seq, up;
		int n;

		pthread_mutex_lock(&disk_lock);
		while (!disk_pending)
			pthread_cond_wait(&disk_cond, &disk_lock);
		seq = disk_pending - 1;
		disk_pending = 0;
		up = hb_uptime;
		pthread_mutex_unlock(&disk_lock);

		memset(buf, 0, SECTOR);
		n = snprintf((char *)buf, SECTOR,
			     "SKILLVL-HBREC v1 boot=%08x seq=%llu uptime_ms=%llu passes=%llu memerr=%llu",
			     boot_id, (unsigned long long)seq, (unsigned long long)up,
			     (unsigned long long)__atomic_load_n(&passes, __ATOMIC_RELAXED),
			     (unsigned long long)__atomic_load_n(&memerr, __ATOMIC_RELAXED));
		snprintf((char *)buf + n, SECTOR - (size_t)n, " crc=%08x\n", crc32(buf, (size_t)n));
		if (pwrite(fd, buf, SECTOR, (off_t)(SECTOR * (1 + seq % DISK_SLOTS))) != SECTOR) {
			static int errs;
			if (errs++ < 5)
				emit("SKILLVL-ERROR disk record: %s\n", strerror(errno));
		}
	}
	return NULL;
}

/* ---- TCP responder -------------------------------------------------------------- */

static void *responder(void *arg)
{
	(void)arg;
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8080) };

	if (s < 0)
		return NULL;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16)) {
		emit("SKILLVL-ERROR responder: %s\n", strerror(errno));
		close(s);
		return NULL;
	}
	for (;;) {
		char req[1024], body[256], resp[512];
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC), n;
		struct pollfd pfd;

		if (c < 0) {
			if (errno != EINTR)
				usleep(100000);
			continue;
		}
		/* read what the client sent (an HTTP request, a command, or nothing for nc) */
		pfd.fd = c;
		pfd.events = POLLIN;
		req[0] = 0;
		if (poll(&pfd, 1, 200) > 0) {
			ssize_t got = read(c, req, sizeof(req) - 1);
			req[got > 0 ? got : 0] = 0;
		}
		n = control(req, resp, sizeof(resp));
		if (n <= 0) {
			pthread_mutex_lock(&out_lock);
			snprintf(body, sizeof(body), "%s", last_line);
			pthread_mutex_unlock(&out_lock);
			n = snprintf(resp, sizeof(resp),
				     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
				     "Connection: close\r\n\r\n%s", strlen(body), body);
		}
		(void)!write(c, resp, (size_t)n);
		shutdown(c, SHUT_WR);
		if (poll(&pfd, 1, 200) > 0)
			(void)!read(c, req, sizeof(req));
		close(c);
	}
	return NULL;
}

/* ---- ACPI power button -> clean power off --------------------------------------- */

static void *power_button(void *arg)
{
	struct pollfd fds[16];
	int n = 0;

	(void)arg;
	/* the input devices appear when the button/evdev modules are loaded: wait up to 5 s */
	for (int tries = 0; tries < 50 && n == 0; tries++) {
		DIR *d = opendir("/dev/input");
		struct dirent *e;

		while (d && (e = readdir(d)) && n < 16) {
			char path[300];
			unsigned long bits[(KEY_MAX + 1) / (8 * sizeof(long)) + 1];
			int fd;

			if (strncmp(e->d_name, "event", 5))
				continue;
			snprintf(path, sizeof(path), "/dev/input/%s", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			memset(bits, 0, sizeof(bits));
			if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(bits)), bits) >= 0 &&
			    (bits[KEY_POWER / (8 * sizeof(long))] >> (KEY_POWER % (8 * sizeof(long)))) & 1) {
				fds[n].fd = fd;
				fds[n++].events = POLLIN;
			} else {
				close(fd);
			}
		}
		if (d)
			closedir(d);
		if (n == 0)
			usleep(100000);
	}
	if (n == 0)
		return NULL;
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			struct input_event ev;
			if (!(fds[i].revents & POLLIN) || read(fds[i].fd, &ev, sizeof(ev)) != sizeof(ev))
				continue;
			if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1) {
				emit("SKILLVL-POWEROFF seq=%llu\n", (unsigned long long)hb_seq);
				sync();
				reboot(RB_POWER_OFF);
			}
		}
	}
	return NULL;
}

/* ---- main: parameters, threads, heartbeat --------------------------------------- */

static char *read_cmdline(void)
{
	static char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	const char *cmdline = argc > 1 ? argv[1] : read_cmdline();
	const char *disk;
	pthread_t t;
	struct stat st;
	uint64_t t0 = now_ns(), next;
	int have_disk;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("SKILLVL_DISK"))
		disk_path = getenv("SKILLVL_DISK");
	disk = disk_path;
	parse_params(cmdline);
	boot_id = (uint32_t)(t0 ^ (t0 >> 32) ^ ((uint64_t)getpid() << 16));
	{
		int fd = open("/dev/urandom", O_RDONLY);
		if (fd >= 0) {
			(void)!read(fd, &boot_id, sizeof(boot_id));
			close(fd);
		}
	}
	have_disk = stat(disk, &st) == 0;
	emit("SKILLVL-BOOT boot=%08x hb_ms=%lu mem_mib=%lu rate_mib=%lu cpu_pct=%lu disk=%s uptime_ms=%llu\n",
	     boot_id, hb_ms, mem_mib, rate_mib, cpu_pct, have_disk ? disk : "none",
	     (unsigned long long)(t0 / 1000000ULL));

	if (pthread_create(&t, NULL, writer, NULL))
		emit("SKILLVL-ERROR cannot start the memory writer\n");
	if (pthread_create(&t, NULL, cpu_load, NULL))
		emit("SKILLVL-ERROR cannot start the CPU load\n");
	if (have_disk && pthread_create(&t, NULL, disk_writer, (void *)disk))
		emit("SKILLVL-ERROR cannot start the disk writer\n");
	if (!getenv("SKILLVL_NO_RESPONDER") && pthread_create(&t, NULL, responder, NULL))
		emit("SKILLVL-ERROR cannot start the responder\n");
	if (getenv("SKILLVL_POWER_BUTTON") && pthread_create(&t, NULL, power_button, NULL))
		emit("SKILLVL-ERROR cannot watch the power button\n");

	next = now_ns();
	for (uint64_t seq = 0;; seq++) {
		uint64_t now = now_ns(), up = now / 1000000ULL;
		char line[256];

		snprintf(line, sizeof(line),
			 "SKILLVL-HB seq=%llu uptime_ms=%llu mem_mib=%lu rate_mib=%lu passes=%llu memerr=%llu cpu_pct=%lu\n",
			 (unsigned long long)seq, (unsigned long long)up, mem_mib, rate_mib,
			 (unsigned long long)__atomic_load_n(&passes, __ATOMIC_RELAXED),
			 (unsigned long long)__atomic_load_n(&memerr, __ATOMIC_RELAXED), cpu_pct);
		emit("%s", line);
		pthread_mutex_lock(&out_lock);
		memcpy(last_line, line, sizeof(line));
		pthread_mutex_unlock(&out_lock);
		hb_seq = seq;
		if (have_disk) {
			pthread_mutex_lock(&disk_lock);
			hb_uptime = up;
			disk_pending = seq + 1;
			pthread_cond_signal(&disk_cond);
			pthread_mutex_unlock(&disk_lock);
		}
		next += hb_ms * 1000000ULL;
		now = now_ns();
		if (next < now)
			next = now;  /* late (guest paused): no burst of heartbeats */
		sleep_until(next);
	}
	return 0;
}
