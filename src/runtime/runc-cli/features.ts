// berth-runc features: what this runtime supports, in the runtime-spec features.md JSON shape.
import { CAPABILITIES } from '../caps.js';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPS } from '../seccomp.js';
import { PROPAGATION_OPTIONS } from '../mounts.js';
import { OCI_SPEC_VERSION } from '../spec/defaults.js';
import type { Command } from './command.js';

const MOUNT_OPTIONS = ['async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'mand', 'noatime',
  'nodev', 'nodiratime', 'noexec', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'rbind',
  'relatime', 'remount', 'ro', 'rw', 'strictatime', 'suid', 'sync', ...Object.keys(PROPAGATION_OPTIONS)];

export const command: Command = {
  name: 'features',
  argsUsage: '',
  flags: [],
  args: 0,
  async run() {
    const features = {
      ociVersionMin: '1.0.0',
      ociVersionMax: OCI_SPEC_VERSION,
      hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
      mountOptions: [...new Set(MOUNT_OPTIONS)].sort(),
      linux: {
        namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
        capabilities: [...CAPABILITIES],
        cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
        seccomp: {
          enabled: true,
          actions: Object.keys(SECCOMP_ACTIONS).sort(),
          operators: Object.keys(SECCOMP_OPS).sort(),
          archs: [...SECCOMP_ARCHES].sort(),
          knownFlags: [...SECCOMP_FLAGS],
          supportedFlags: [...SECCOMP_FLAGS],
        },
        apparmor: { enabled: false },
        selinux: { enabled: false },
      },
      annotations: { 'io.github.berth.runtime': 'berth-runc' },
    };
    process.stdout.write(JSON.stringify(features, null, '    ') + '\n');
  },
};
