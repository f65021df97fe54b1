/*
 * Scenario runner for the NATS C client (libnats), driven by
 * tests/clients/lifecycle_test.ts. Same contract as tests/clients/go/scenario.go:
 *
 *   scenario <name> <url> [certs-dir]
 *
 * JSON lines on stdout; a line with "step" waits for one line on stdin (the
 * test acts on the server meanwhile); the last line is the result, with
 * timings under "measured".
 */
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fatal(const char *why, natsStatus s) {
  printf("{\"fatal\":\"%s: %s\"}\n", why, natsStatus_GetText(s));
  fflush(stdout);
  exit(1);
}

static void step(const char *name) {
  char line[64];
  printf("{\"step\":\"%s\"}\n", name);
  fflush(stdout);
  if (fgets(line, sizeof line, stdin) == NULL) fatal("stdin closed", NATS_ERR);
}

/* Polls cond every 10 ms until it holds or ms pass. */
#define WAIT(ms, cond)                                                   \
  ({                                                                     \
    int64_t _end = nats_Now() + (ms);                                    \
    while (!(cond) && nats_Now() < _end) nats_Sleep(10);                 \
    (cond);                                                              \
  })

/* Library statuses as the names the Go runner uses. */
static const char *status_name(natsStatus s) {
  switch (s) {
    case NATS_OK: return "ok";
    case NATS_CONNECTION_AUTH_FAILED: return "authorization violation";
    case NATS_TIMEOUT: return "timeout";
    case NATS_NO_RESPONDERS: return "no responders";
    case NATS_SLOW_CONSUMER: return "slow consumer";
    case NATS_NO_SERVER: return "no servers";
    case NATS_SSL_ERROR: return "tls error";
    default: return natsStatus_GetText(s);
  }
}

static const char *b(int v) { return v ? "true" : "false"; }

typedef struct {
  atomic_int disconnected, reconnected, closed;
} watch;

static void on_disc(natsConnection *nc, void *c) { (void)nc; atomic_fetch_add(&((watch *)c)->disconnected, 1); }
static void on_reco(natsConnection *nc, void *c) { (void)nc; atomic_fetch_add(&((watch *)c)->reconnected, 1); }
static void on_closed(natsConnection *nc, void *c) { (void)nc; atomic_fetch_add(&((watch *)c)->closed, 1); }

static natsOptions *options(const char *url, watch *w) {
  natsOptions *o = NULL;
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetURL(o, url);
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 5000);
  if (s == NATS_OK && w != NULL) {
    natsOptions_SetMaxReconnect(o, 100000);
    natsOptions_SetReconnectWait(o, 100);
    natsOptions_SetReconnectJitter(o, 0, 0);
    natsOptions_SetDisconnectedCB(o, on_disc, w);
    natsOptions_SetReconnectedCB(o, on_reco, w);
    natsOptions_SetClosedCB(o, on_closed, w);
  } else if (s == NATS_OK) {
    s = natsOptions_SetAllowReconnect(o, false);
  }
  if (s != NATS_OK) fatal("options", s);
  return o;
}

static natsConnection *connect_or_die(natsOptions *o) {
  natsConnection *nc = NULL;
  natsStatus s = natsConnection_Connect(&nc, o);
  if (s != NATS_OK) fatal("connect", s);
  return nc;
}

/* A message published on nc comes back on a subscription of nc. */
static int roundtrip(natsConnection *nc, const char *subject) {
  natsSubscription *sub = NULL;
  natsMsg *m = NULL;
  int ok = natsConnection_SubscribeSync(&sub, nc, subject) == NATS_OK &&
           natsConnection_PublishString(nc, subject, "x") == NATS_OK &&
           natsSubscription_NextMsg(&m, sub, 5000) == NATS_OK;
  natsMsg_Destroy(m);
  natsSubscription_Destroy(sub);
  return ok;
}

static int port_of(natsConnection *nc) {
  char buf[256] = "";
  if (natsConnection_GetConnectedUrl(nc, buf, sizeof buf) != NATS_OK) return 0;
  char *colon = strrchr(buf, ':');
  return colon ? atoi(colon + 1) : 0;
}

static void storm(const char *url) {
  int ok = 0, failed = 0;
  int64_t start = nats_Now();
  for (int i = 0; i < 200; i++) {
    natsOptions *o = options(url, NULL);
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_Connect(&nc, o);
    if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 5000);
    if (s == NATS_OK) ok++; else failed++;
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
  }
  natsOptions *o = options(url, NULL);
  natsConnection *nc = connect_or_die(o);
  printf("{\"ok\":%d,\"failed\":%d,\"roundtrip\":%s,\"measured\":{\"ms\":%lld}", ok, failed,
         b(roundtrip(nc, "storm.after")), (long long)(nats_Now() - start));
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

static atomic_int received;
static void count_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
  (void)nc; (void)sub; (void)c;
  atomic_fetch_add(&received, 1);
  natsMsg_Destroy(m);
}

static void restart(const char *url) {
  watch w = {0};
  natsOptions *o = options(url, &w);
  natsConnection *nc = connect_or_die(o);
  natsSubscription *sub = NULL;
  natsConnection_Subscribe(&sub, nc, "restart.live", count_msg, NULL);
  natsConnection_Flush(nc);
  step("connected");
  int64_t start = nats_Now();
  int reco = WAIT(15000, atomic_load(&w.reconnected) > 0);
  int64_t ms = nats_Now() - start;
  int got = 0;
  if (reco) {
    natsConnection_PublishString(nc, "restart.live", "after");
    got = WAIT(5000, atomic_load(&received) > 0);
  }
  printf("{\"disconnected\":%s,\"reconnected\":%s,\"resubscribed\":%s,"
         "\"measured\":{\"reconnect_ms\":%lld}",
         b(atomic_load(&w.disconnected) > 0), b(reco), b(got), (long long)ms);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

static int discovered(natsConnection *nc) {
  char **servers = NULL;
  int count = 0;
  if (natsConnection_GetDiscoveredServers(nc, &servers, &count) != NATS_OK) return 0;
  for (int i = 0; i < count; i++) free(servers[i]);
  free(servers);
  return count;
}

static void failover(const char *url) {
  watch w = {0};
  natsOptions *o = options(url, &w);
  natsConnection *nc = connect_or_die(o);
  if (!WAIT(10000, discovered(nc) > 0)) fatal("no server discovered", NATS_ERR);
  step("discovered");
  int64_t start = nats_Now();
  int reco = WAIT(10000, atomic_load(&w.reconnected) > 0);
  int64_t ms = nats_Now() - start;
  int port = reco ? port_of(nc) : 0;
  printf("{\"reconnected\":%s,\"within_2s\":%s,\"roundtrip\":%s,\"port\":%d,"
         "\"measured\":{\"failover_ms\":%lld}",
         b(reco), b(reco && ms < 2000), b(reco && roundtrip(nc, "failover.after")), port,
         (long long)ms);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

static atomic_int draining;
static void held_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
  (void)nc; (void)sub; (void)c;
  /* Every message is still waiting in the client when the drain starts. */
  WAIT(20000, atomic_load(&draining));
  atomic_fetch_add(&received, 1);
  natsMsg_Destroy(m);
}

static void drain(const char *url) {
  enum { N = 500 };
  watch w = {0};
  natsOptions *so = options(url, &w), *po = options(url, NULL);
  natsConnection *sub_nc = connect_or_die(so), *pub = connect_or_die(po);
  natsSubscription *sub = NULL;
  natsConnection_Subscribe(&sub, sub_nc, "drain.data", held_msg, NULL);
  natsConnection_Flush(sub_nc);
  char buf[16];
  for (int i = 0; i < N; i++) {
    snprintf(buf, sizeof buf, "%d", i);
    natsConnection_PublishString(pub, "drain.data", buf);
  }
  natsConnection_Flush(pub);
  /* A round trip: the server wrote every message before the PONG. */
  natsConnection_Flush(sub_nc);
  natsConnection_DrainTimeout(sub_nc, 15000);
  atomic_store(&draining, 1);
  int done = WAIT(16000, atomic_load(&w.closed) > 0);
  printf("{\"published\":%d,\"received\":%d,\"closed\":%s", N, atomic_load(&received),
         b(done));
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(sub_nc);
  natsConnection_Destroy(pub);
  natsOptions_Destroy(so);
  natsOptions_Destroy(po);
}

static void flush_timeout(const char *url) {
  watch w = {0};
  natsOptions *o = options(url, &w);
  natsOptions_SetPingInterval(o, 3600 * 1000);
  natsConnection *nc = connect_or_die(o);
  step("connected");
  const char *first = status_name(natsConnection_FlushTimeout(nc, 500));
  step("timed_out");
  const char *second = status_name(natsConnection_FlushTimeout(nc, 10000));
  printf("{\"stopped\":\"%s\",\"resumed\":\"%s\",\"roundtrip\":%s", first, second,
         b(roundtrip(nc, "flush.after")));
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

static atomic_int async_errors;
static atomic_int first_error = -1;
static atomic_int release;
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *c) {
  (void)nc; (void)sub; (void)c;
  int none = -1;
  atomic_compare_exchange_strong(&first_error, &none, (int)err);
  atomic_fetch_add(&async_errors, 1);
}
static void blocked_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
  (void)nc; (void)sub; (void)c;
  WAIT(10000, atomic_load(&release));
  natsMsg_Destroy(m);
}

static void slow_consumer(const char *url) {
  natsOptions *o = options(url, NULL);
  natsOptions_SetErrorHandler(o, on_error, NULL);
  natsConnection *nc = connect_or_die(o);
  natsSubscription *sub = NULL;
  natsConnection_Subscribe(&sub, nc, "slow.data", blocked_msg, NULL);
  natsSubscription_SetPendingLimits(sub, 10, 1024 * 1024);
  natsConnection_Flush(nc);
  for (int i = 0; i < 100; i++) natsConnection_PublishString(nc, "slow.data", "x");
  natsConnection_Flush(nc);
  int fired = WAIT(5000, atomic_load(&async_errors) > 0);
  atomic_store(&release, 1);
  int64_t dropped = 0;
  natsSubscription_GetDropped(sub, &dropped);
  int first = atomic_load(&first_error);
  printf("{\"async_error\":%s,\"error\":\"%s\",\"dropped\":%s,\"still_connected\":%s", b(fired),
         first < 0 ? "" : status_name((natsStatus)first), b(dropped > 0),
         b(natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED && roundtrip(nc, "slow.after")));
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

static atomic_int token_calls;
static const char *token_cb(void *c) {
  (void)c;
  atomic_fetch_add(&token_calls, 1);
  return "s3cret";
}

static const char *try_connect(natsOptions *o, int check_roundtrip, const char *subject) {
  natsConnection *nc = NULL;
  natsStatus s = natsConnection_Connect(&nc, o);
  const char *r = status_name(s);
  if (s == NATS_OK && check_roundtrip && !roundtrip(nc, subject)) r = "no roundtrip";
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
  return r;
}

static void auth(const char *url) {
  natsOptions *o = options(url, NULL);
  natsOptions_SetToken(o, "wrong");
  const char *wrong = try_connect(o, 0, NULL);
  const char *none = try_connect(options(url, NULL), 0, NULL);
  o = options(url, NULL);
  natsOptions_SetTokenHandler(o, token_cb, NULL);
  const char *handler = try_connect(o, 1, "auth.after");
  int rt = strcmp(handler, "ok") == 0;
  printf("{\"wrong_token\":\"%s\",\"no_token\":\"%s\",\"token_handler\":\"%s\","
         "\"handler_called\":%s,\"roundtrip\":%s",
         wrong, none, rt ? "ok" : handler, b(atomic_load(&token_calls) > 0), b(rt));
}

static const char *tls_case(const char *url, const char *certs, int ca, int skip, int cert) {
  char a[1024], k[1024];
  natsOptions *o = options(url, NULL);
  natsOptions_SetSecure(o, true);
  if (ca) {
    snprintf(a, sizeof a, "%s/ca.pem", certs);
    natsOptions_LoadCATrustedCertificates(o, a);
  }
  if (skip) natsOptions_SkipServerVerification(o, true);
  if (cert) {
    snprintf(a, sizeof a, "%s/client-cert.pem", certs);
    snprintf(k, sizeof k, "%s/client-key.pem", certs);
    natsOptions_LoadCertificatesChain(o, a, k);
  }
  return try_connect(o, 1, "tls.after");
}

static void tls(const char *url, const char *certs) {
  const char *ca = tls_case(url, certs, 1, 0, 0);
  const char *no_ca = tls_case(url, certs, 0, 0, 0);
  const char *skip = tls_case(url, certs, 0, 1, 0);
  const char *both = tls_case(url, certs, 1, 0, 1);
  printf("{\"ca\":\"%s\",\"no_ca\":\"%s\",\"skip_verify\":\"%s\",\"ca_client_cert\":\"%s\"", ca,
         no_ca, skip, both);
}

static void no_responders(const char *url) {
  natsOptions *o = options(url, NULL);
  natsConnection *nc = connect_or_die(o);
  natsMsg *reply = NULL;
  int64_t start = nats_Now();
  natsStatus s = natsConnection_RequestString(&reply, nc, "nobody.home", "?", 5000);
  int64_t ms = nats_Now() - start;
  printf("{\"headers\":%s,\"request\":\"%s\",\"fast\":%s,\"measured\":{\"ms\":%lld}",
         b(natsConnection_HasHeaderSupport(nc) == NATS_OK), status_name(s), b(ms < 2500),
         (long long)ms);
  natsMsg_Destroy(reply);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(o);
}

enum { QN = 100 };
static atomic_int seen[QN];
static atomic_int member_used[2];
static void queue_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *c) {
  (void)nc; (void)sub;
  int i = atoi(natsMsg_GetData(m));
  if (i >= 0 && i < QN) atomic_fetch_add(&seen[i], 1);
  atomic_store(&member_used[(intptr_t)c], 1);
  natsMsg_Destroy(m);
}

static int queue_total(void) {
  int t = 0;
  for (int i = 0; i < QN; i++) t += atomic_load(&seen[i]);
  return t;
}

static void queue(const char *url) {
  watch w[3] = {0};
  natsOptions *o[3];
  natsConnection *nc[3];
  natsSubscription *sub[2] = {NULL, NULL};
  for (int i = 0; i < 3; i++) {
    o[i] = options(url, &w[i]);
    nc[i] = connect_or_die(o[i]);
  }
  for (intptr_t i = 0; i < 2; i++) {
    natsConnection_QueueSubscribe(&sub[i], nc[i], "queue.work", "workers", queue_msg, (void *)i);
    natsConnection_Flush(nc[i]);
  }
  step("connected");
  int reco = WAIT(15000, atomic_load(&w[0].reconnected) > 0 &&
                             atomic_load(&w[1].reconnected) > 0 &&
                             atomic_load(&w[2].reconnected) > 0);
  natsConnection_FlushTimeout(nc[0], 5000); /* the resent SUBs are in place */
  natsConnection_FlushTimeout(nc[1], 5000);
  char buf[16];
  for (int i = 0; i < QN; i++) {
    snprintf(buf, sizeof buf, "%d", i);
    natsConnection_PublishString(nc[2], "queue.work", buf);
  }
  natsConnection_Flush(nc[2]);
  WAIT(5000, queue_total() >= QN);
  nats_Sleep(300); /* a duplicate would arrive now */
  int distinct = 0, dups = 0;
  for (int i = 0; i < QN; i++) {
    int c = atomic_load(&seen[i]);
    if (c > 0) distinct++;
    if (c > 1) dups += c - 1;
  }
  printf("{\"reconnected\":%s,\"distinct\":%d,\"duplicates\":%d,\"members\":%d", b(reco),
         distinct, dups, atomic_load(&member_used[0]) + atomic_load(&member_used[1]));
  for (int i = 0; i < 2; i++) natsSubscription_Destroy(sub[i]);
  for (int i = 0; i < 3; i++) {
    natsConnection_Destroy(nc[i]);
    natsOptions_Destroy(o[i]);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) fatal("usage: scenario <name> <url> [certs-dir]", NATS_INVALID_ARG);
  const char *name = argv[1], *url = argv[2];
  if (strcmp(name, "storm") == 0) storm(url);
  else if (strcmp(name, "restart") == 0) restart(url);
  else if (strcmp(name, "failover") == 0) failover(url);
  else if (strcmp(name, "drain") == 0) drain(url);
  else if (strcmp(name, "flush_timeout") == 0) flush_timeout(url);
  else if (strcmp(name, "slow_consumer") == 0) slow_consumer(url);
  else if (strcmp(name, "auth") == 0) auth(url);
  else if (strcmp(name, "tls") == 0 && argc > 3) tls(url, argv[3]);
  else if (strcmp(name, "no_responders") == 0) no_responders(url);
  else if (strcmp(name, "queue") == 0) queue(url);
  else fatal("unknown scenario", NATS_INVALID_ARG);
  /* Each scenario printed its fields without the closing brace. */
  printf(",\"scenario\":\"%s\",\"client\":\"libnats %s\"}\n", name, nats_GetVersion());
  fflush(stdout);
  nats_CloseAndWait(2000);
  return 0;
}
