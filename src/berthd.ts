// berthd: the daemon. Parses dockerd's flags and daemon.json, builds the object graph (engine, images, routes), serves the Engine API, stops gracefully.
//
// The one place that wires Berth together. Containers survive a berthd stop (live-restore):
// their shims keep running, and the next berthd reattaches.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errInvalid } from './common/errors.js';
import { loadConfig, USAGE, type DaemonConfig } from './daemon-config.js';
import { createLogger, setLogContext, type Logger } from './common/log.js';
import { OtlpExporter, otlpConfigFromEnv } from './common/otlp.js';
import { tracer } from './common/trace.js';
import { IdleGc, exposedGc } from './common/idle-gc.js';
import { takeAllocatorEnv } from './common/daemon-flags.js';
import { registerPingRoutes } from './api/ping.js';
import { Router } from './api/router.js';
import { registerContainerRoutes } from './api/routes/containers.js';
import { registerEventRoutes } from './api/routes/events.js';
import { registerExecRoutes } from './api/routes/exec.js';
import { registerImageRoutes } from './api/routes/images.js';
import { registerSystemRoutes } from './api/routes/system.js';
import { registerNetworkRoutes } from './api/routes/networks.js';
import { registerVolumeRoutes } from './api/routes/volumes.js';
import { registerTraceRoutes } from './api/routes/traces.js';
import { startApiServer, type ApiServer, type RequestRecord, type TlsOptions } from './api/server.js';
import type { ComponentVersion } from './api/version.js';
import { componentVersions } from './engine/component-versions.js';
import { openEngine, type Engine } from './engine/engine.js';
import { shimBinaryPath } from './lifecycle/shim-client.js';
import { initBinaryPath } from './runtime/container/init-process.js';
import { isSameLiveProcess } from './runtime/container/proc.js';
import type { RegistryClientOptions } from './images/distribution/registry-client.js';
import type { EngineMetrics } from './metrics/engine-metrics.js';
import type { MetricsServer } from './metrics/metrics-server.js';

/** Repository root (works from src/ and dist/src/). */
const repoRoot = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export { DEFAULT_CONFIG_FILE, DEFAULT_DATA_ROOT, DEFAULT_EXEC_ROOT, DEFAULT_HOST, USAGE, loadConfig, type DaemonConfig } from './daemon-config.js';

/** Write the pidfile; refuse when it names a live process (another daemon with this pidfile). */
function writePidfile(path: string): void {
  try {
    const old = Number(readFileSync(path, 'utf8').trim());
    // A zombie (a killed daemon its parent has not reaped yet) runs no more: it does not hold the pidfile.
    if (Number.isInteger(old) && old > 0 && old !== process.pid) {
      if (isSameLiveProcess(old, undefined)) throw new BerthError('already-exists', `pid file found, ensure berthd is not running or delete ${path}`);
    }
  } catch (e) {
    if (e instanceof BerthError) throw e;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}`);
}

export interface Daemon {
  config: DaemonConfig;
  server: ApiServer;
  engine: Engine;
  /** The OTLP exporter, when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set. */
  otlp?: OtlpExporter;
  /** Stop serving, close the engine (containers keep running), remove the pidfile. */
  stop(): Promise<void>;
}

/** Export every span by OTLP when the environment asks for it (docs/engine.md "Traces"). */
function startOtlp(log: Logger, version: string): { exporter: OtlpExporter; stop: () => void } | undefined {
  const { config, problem } = otlpConfigFromEnv(process.env, 'berthd');
  if (problem) log.warn(`tracing: ${problem}; spans are not exported`);
  if (!config) return undefined;
  // A collector that is down is reported once per outage, not once per batch; spans are dropped meanwhile.
  let failedAt: number | undefined;
  const exporter: OtlpExporter = new OtlpExporter(config, {
    resource: { 'service.version': version, 'process.pid': process.pid },
    scopeVersion: version,
    onError: (message, dropped) => {
      if (failedAt === undefined) log.warn('tracing: OTLP export failed; spans are dropped until it works again', { err: message, dropped });
      failedAt = exporter.exported;
    },
  });
  const stop = tracer.addSink((s) => {
    if (failedAt !== undefined && exporter.exported > failedAt) {
      failedAt = undefined;
      log.info('tracing: OTLP export works again', { dropped: exporter.dropped });
    }
    exporter.add(s);
  });
  log.info('tracing: exporting spans by OTLP/HTTP (JSON)', { endpoint: config.url.href });
  return { exporter, stop };
}

/** Build everything and listen. */
export async function startDaemon(config: DaemonConfig, log: Logger): Promise<Daemon> {
  const version = packageVersion();
  mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });
  mkdirSync(config.dataRoot, { recursive: true, mode: 0o711 });
  writePidfile(config.pidfile);
  const registry: RegistryClientOptions = {
    insecureRegistries: config.insecureRegistries,
    mirrors: config.registryMirrors,
    concurrency: config.maxConcurrentDownloads || 1,
    // The daemon never reads a user's ~/.docker/config.json: credentials come with each request.
    credentials: () => undefined,
  };
  let engine: Engine | undefined;
  let metricsServer: MetricsServer | undefined;
  const otlp = startOtlp(log, version);
  try {
    engine = await openEngine({ dataRoot: config.dataRoot, execRoot: config.execRoot, log: log.child({ component: 'engine' }), registry,
      ...(config.cgroupParent ? { cgroupParent: config.cgroupParent } : {}),
      ...(config.defaultUlimits.length ? { defaultUlimits: config.defaultUlimits } : {}),
      logConfig: { Type: config.logDriver, Config: config.logOpts },
      defaultShmSize: config.defaultShmSize,
      runtimes: config.runtimes,
      defaultRuntime: config.defaultRuntime,
      ...(config.hostGatewayIp ? { hostGatewayIp: config.hostGatewayIp } : {}),
      network: {
        ...(config.bridge ? { defaultBridge: config.bridge } : {}), ...(config.bip ? { bip: config.bip } : {}), ipMasq: config.ipMasq,
        ...(config.dnsForward ? {} : { dnsUpstreams: [] }), ...(config.defaultAddressPools.length ? { pools: config.defaultAddressPools } : {}),
      },
    });
    const eng = engine;
    const containers = eng.containers;
    let metrics: EngineMetrics | undefined;
    if (config.metricsAddr) {
      // Loaded only when asked for: prom-client is memory an idle daemon without metrics does not pay.
      const [{ EngineMetrics: Metrics }, { startMetricsServer }] = await Promise.all([import('./metrics/engine-metrics.js'), import('./metrics/metrics-server.js')]);
      metrics = new Metrics(eng);
      metricsServer = await startMetricsServer(config.metricsAddr, metrics, log.child({ component: 'metrics' }));
    }
    const router = new Router();
    registerPingRoutes(router);
    const runtimePath = join(repoRoot, 'bin', 'berth-runc.cjs');
    // Asked once, now; /version waits for the answers only if it comes first.
    const componentsAsked = componentVersions(
      { shim: shimBinaryPath(), init: initBinaryPath(), defaultRuntime: config.defaultRuntime, runtimes: config.runtimes },
      (name, e) => log.warn('version: could not ask a component its version', { component: name, err: e.message }),
    );
    const components = (): Promise<ComponentVersion[]> => componentsAsked;
    registerSystemRoutes(router, {
      images: eng.images,
      containers,
      daemon: {
        id: '',
        dataRoot: config.dataRoot,
        execRoot: config.execRoot,
        version,
        debug: config.debug,
        runtimePath,
        insecureRegistries: config.insecureRegistries,
        mirrors: config.registryMirrors,
      },
      versionInfo: { platformName: 'Berth Engine', version, gitCommit: 'unknown', buildTime: new Date(0).toUTCString(), experimental: false },
      components,
      // The engine reports what it runs; the daemon's own settings (version, debug, runtime name) are berthd's.
      engineInfo: async () => ({
        ...(await eng.info()),
        ServerVersion: version,
        Debug: config.debug,
        Runtimes: {
          berth: { path: runtimePath },
          ...Object.fromEntries(Object.entries(config.runtimes).map(([n, r]) => [n, { path: r.path, ...(r.runtimeArgs?.length ? { runtimeArgs: r.runtimeArgs } : {}) }])),
        },
        DefaultRuntime: config.defaultRuntime,
      }),
      engineDf: (want) => eng.df(want),
    });
    registerEventRoutes(router, eng.events);
    registerImageRoutes(router, {
      images: eng.images,
      events: eng.events,
      registry,
      tmpDir: config.execRoot,
      ...(metrics ? { onPull: (ok: boolean) => metrics.countPull(ok) } : {}),
      containerCounts: async () => {
        const m = new Map<string, number>();
        for (const c of await containers.list({ all: true })) m.set(c.ImageID, (m.get(c.ImageID) ?? 0) + 1);
        return m;
      },
    });
    registerContainerRoutes(router, containers);
    registerNetworkRoutes(router, { networks: eng.networks, containers, events: eng.events });
    registerVolumeRoutes(router, eng.volumes);
    registerExecRoutes(router, containers);
    registerTraceRoutes(router, { containers, tracer });
    let tls: TlsOptions | undefined;
    if (config.tls) {
      if (!config.tlsCert || !config.tlsKey) throw errInvalid('--tls needs --tlscert and --tlskey');
      if (config.tlsVerify && !config.tlsCaCert) throw errInvalid('--tlsverify needs --tlscacert');
      tls = { caFile: config.tlsCaCert ?? config.tlsCert, certFile: config.tlsCert, keyFile: config.tlsKey, verifyClients: config.tlsVerify };
    }
    const idleGc = new IdleGc(exposedGc(), 1000, (r) => log.debug('idle collection', { ms: Number(r.ms.toFixed(2)), rssBefore: r.rssBefore, rssAfter: r.rssAfter }));
    const server = await startApiServer({
      router, hosts: config.hosts, log, ...(tls ? { tls } : {}), daemonVersion: version,
      onRequestDone: (r: RequestRecord) => {
        metrics?.observeRequest(r);
        idleGc.poke();
      },
    });
    metrics?.watchServer(server);
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= (async () => {
      if (config.shutdownContainers) {
        await containers.shutdown();
      } else {
        log.info('stopping: containers keep running (live-restore)');
      }
      await server.close({ graceMs: 5000 });
      idleGc.close();
      await metricsServer?.close();
      await eng.close();
      if (otlp) {
        await otlp.exporter.shutdown(2000);
        otlp.stop();
        log.info('OTLP export stopped', { exported: otlp.exporter.exported, dropped: otlp.exporter.dropped });
      }
      rmSync(config.pidfile, { force: true });
      log.info('berthd stopped');
    })());
    log.info('berthd started', { version, dataRoot: config.dataRoot, execRoot: config.execRoot, hosts: config.hosts, pid: process.pid });
    idleGc.poke(); // the start-up's garbage (restore, module set-up) too
    return { config, server, engine: eng, stop, ...(otlp ? { otlp: otlp.exporter } : {}) };
  } catch (e) {
    await metricsServer?.close();
    otlp?.stop();
    await engine?.close();
    rmSync(config.pidfile, { force: true });
    throw e;
  }
}

/** The berthd command: returns the exit code once stopped by SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<number> {
  takeAllocatorEnv(); // not for the processes it starts (common/daemon-flags.ts)
  // The one subcommand: loaded on demand, so the daemon's start does not pay for it.
  if (argv[0] === 'check') return (await import('./check/command.js')).runCheck(argv.slice(1));
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(argv);
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}\n`);
    return 1;
  }
  if (loaded.parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (loaded.parsed.version) {
    process.stdout.write(`Berth version ${packageVersion()}\n`);
    return 0;
  }
  if (loaded.parsed.validate) {
    for (const w of loaded.warnings) process.stderr.write(`berthd: warning: ${w}\n`);
    // dockerd prints this on stderr, as `nginx -t` and `sshd -t` do.
    process.stderr.write('configuration OK\n');
    return 0;
  }
  const { config } = loaded;
  const log = createLogger({ level: config.logLevel, fields: { name: 'berthd' } });
  // Every line written while a request is served (by the engine, images, networks, volumes) names it.
  setLogContext(requestLogFields);
  for (const o of loaded.overrides) log.info('a flag overrides the configuration file', { key: o.key, flag: o.flag, file: o.file });
  for (const w of loaded.warnings) log.warn(w);
  let daemon: Daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (e) {
    log.fatal('failed to start daemon', { err: e });
    process.stderr.write(`berthd: failed to start daemon: ${(e as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 2) {
        log.warn('forced exit', { signal: sig });
        process.exit(130);
      }
      if (signals > 1) return;
      log.info('signal received, shutting down', { signal: sig });
      daemon.stop().then(() => resolveExit(0), (e: unknown) => {
        log.error('shutdown failed', { err: e });
        resolveExit(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // dockerd reloads its config on SIGHUP; Berth has nothing reloadable yet, so it is ignored.
    process.on('SIGHUP', () => log.info('SIGHUP: nothing to reload'));
  });
}

/** The request id and trace id of the API request whose async context the caller runs in. */
function requestLogFields(): Record<string, unknown> | undefined {
  const span = tracer.current();
  const reqId = span?.localRoot.attrs?.['berth.request_id'];
  return reqId === undefined ? undefined : { reqId, traceId: span!.traceId };
}
