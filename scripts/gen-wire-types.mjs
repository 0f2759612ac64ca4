#!/usr/bin/env node
// Generates src/api/wire-types.ts, the type table of the create and update bodies, from the Engine API definition.
// Usage: node scripts/gen-wire-types.mjs [path/to/v1.50.yaml]
//
// The swagger gives the fields and their JSON kinds; it does not give the Go types dockerd decodes into, whose
// names are in Go's error text ("... of type int64", "... of type container.RestartPolicy"). Those come from the
// GO table below (moby api/types of docker 28), as do the embedded structs that Go 1.24 names in the field path.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const input = resolve(process.argv[2] ?? resolve(repoRoot, '../shared/reference/engine-api/v1.50.yaml'));
const output = resolve(repoRoot, 'src/api/wire-types.ts');
const defs = parse(readFileSync(input, 'utf8')).definitions;

// Go types where the swagger's kind does not name them: 'Def.Field' -> Go type (a struct by its table name as @Name).
const GO = {
  'ContainerConfig.ExposedPorts': 'nat.PortSet=map[string]struct {}',
  'ContainerConfig.Volumes': 'map[string]struct {}',
  'ContainerConfig.Cmd': 'strslice', 'ContainerConfig.Entrypoint': 'strslice', 'ContainerConfig.Shell': 'strslice',
  'ContainerConfig.StopTimeout': 'int',
  'HostConfig.CapAdd': 'strslice', 'HostConfig.CapDrop': 'strslice',
  'HostConfig.NetworkMode': 'container.NetworkMode=string', 'HostConfig.IpcMode': 'container.IpcMode=string',
  'HostConfig.PidMode': 'container.PidMode=string', 'HostConfig.UTSMode': 'container.UTSMode=string',
  'HostConfig.UsernsMode': 'container.UsernsMode=string', 'HostConfig.CgroupnsMode': 'container.CgroupnsMode=string',
  'HostConfig.Cgroup': 'container.CgroupSpec=string', 'HostConfig.Isolation': 'container.Isolation=string',
  'HostConfig.ConsoleSize': '[2]uint', 'HostConfig.OomScoreAdj': 'int',
  'HostConfig.PortBindings': 'nat.PortMap=map[string][]@PortBinding',
  'RestartPolicy.Name': 'container.RestartPolicyMode=string', 'RestartPolicy.MaximumRetryCount': 'int',
  'Resources.CpuShares': 'int64', 'Resources.BlkioWeight': 'uint16',
  'Resources.IOMaximumIOps': 'uint64', 'Resources.IOMaximumBandwidth': 'uint64',
  'Resources.BlkioWeightDevice': '[]*@WeightDevice', 'Resources.Ulimits': '[]*@Ulimit',
  'Resources.BlkioDeviceReadBps': '[]*@ThrottleDevice', 'Resources.BlkioDeviceWriteBps': '[]*@ThrottleDevice',
  'Resources.BlkioDeviceReadIOps': '[]*@ThrottleDevice', 'Resources.BlkioDeviceWriteIOps': '[]*@ThrottleDevice',
  'HealthConfig.Interval': 'time.Duration=int64', 'HealthConfig.Timeout': 'time.Duration=int64',
  'HealthConfig.StartPeriod': 'time.Duration=int64', 'HealthConfig.StartInterval': 'time.Duration=int64',
  'HealthConfig.Retries': 'int',
  'NetworkingConfig.EndpointsConfig': 'map[string]*@EndpointSettings',
  'EndpointSettings.IPPrefixLen': 'int', 'EndpointSettings.GlobalIPv6PrefixLen': 'int', 'EndpointSettings.GwPriority': 'int',
  'Mount.Type': 'mount.Type=string', 'Mount.Consistency': 'mount.Consistency=string',
  'DeviceRequest.Count': 'int', 'DeviceRequest.Capabilities': '[][]string',
  'ThrottleDevice.Rate': 'uint64', 'WeightDevice.Weight': 'uint16', 'Ulimit.Soft': 'int64', 'Ulimit.Hard': 'int64',
  'TmpfsOptions.SizeBytes': 'int64', 'TmpfsOptions.Mode': 'os.FileMode=uint32', 'TmpfsOptions.Options': '[][]string',
};
// Go struct names (package-qualified, as Go's reflect prints them) of the swagger's definitions and inline objects.
const STRUCTS = {
  ContainerConfig: 'container.Config', HostConfig: 'container.HostConfig', Resources: 'container.Resources',
  NetworkingConfig: 'network.NetworkingConfig', EndpointSettings: 'network.EndpointSettings',
  EndpointIPAMConfig: 'network.EndpointIPAMConfig', RestartPolicy: 'container.RestartPolicy',
  HealthConfig: 'container.HealthConfig', Mount: 'mount.Mount', PortBinding: 'nat.PortBinding',
  DeviceMapping: 'container.DeviceMapping', DeviceRequest: 'container.DeviceRequest',
  ThrottleDevice: 'blkiodev.ThrottleDevice', WeightDevice: 'blkiodev.WeightDevice', Ulimit: 'units.Ulimit',
  LogConfig: 'container.LogConfig', BindOptions: 'mount.BindOptions', VolumeOptions: 'mount.VolumeOptions',
  ImageOptions: 'mount.ImageOptions', TmpfsOptions: 'mount.TmpfsOptions', Driver: 'mount.Driver',
};
// Inline objects of the swagger that are Go structs: 'Def.Field' -> their table name.
const INLINE = {
  'HostConfig.LogConfig': 'LogConfig', 'Resources.BlkioWeightDevice': 'WeightDevice', 'Resources.Ulimits': 'Ulimit',
  'Mount.BindOptions': 'BindOptions', 'Mount.VolumeOptions': 'VolumeOptions', 'Mount.ImageOptions': 'ImageOptions',
  'Mount.TmpfsOptions': 'TmpfsOptions', 'VolumeOptions.DriverConfig': 'Driver',
};
// Fields the swagger lists with Resources that Go keeps in HostConfig itself (the field path differs).
const NOT_IN_RESOURCES = new Set(['Init']);

const table = {};

function ref(s) { return s.$ref.replace('#/definitions/', ''); }

/** The properties of a schema, following allOf; `via` names the embedded Go struct a $ref in allOf becomes. */
function properties(s, out = {}, via = undefined) {
  if (s.allOf) for (const x of s.allOf) properties(x, out, x.$ref ? ref(x) : via);
  else if (s.$ref) properties(defs[ref(s)], out, via);
  else for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = { schema: v, via };
  return out;
}

/** The type string of a schema at 'Def.Field' (see WireType in the output for the grammar). */
function typeOf(s, at) {
  if (GO[at]) {
    // A struct named there is a definition, or the inline object the swagger has in its place.
    for (const [, name] of GO[at].matchAll(/@(\w+)/g)) struct(name, defs[name] ?? s.items ?? s.additionalProperties ?? s);
    return GO[at];
  }
  if (INLINE[at]) return '@' + struct(INLINE[at], s);
  if (s.$ref) {
    const name = ref(s);
    if (!STRUCTS[name]) throw new Error(`${at}: no Go name for #/definitions/${name}`);
    return '@' + struct(name, defs[name]);
  }
  switch (s.type) {
    case 'string': return 'string';
    case 'boolean': return 'bool';
    case 'integer': return s.format === 'int64' ? 'int64' : 'int';
    case 'number': return 'float64';
    case 'array': return '[]' + typeOf(s.items, `${at}[]`);
    case 'object':
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        return 'map[string]' + typeOf(s.additionalProperties, `${at}{}`);
      }
      if (s.properties) throw new Error(`${at}: inline object without a Go name`);
      return 'any';
    default:
      // An enum of strings without a type (Mount.Type) and the like.
      if (s.enum && s.enum.every((e) => typeof e === 'string')) return 'string';
      throw new Error(`${at}: no type`);
  }
}

/** Add a struct to the table once; returns its name. */
function struct(name, s) {
  if (table[name]) return name;
  table[name] = { go: STRUCTS[name], fields: {} };
  for (const [k, { schema, via }] of Object.entries(properties(s))) {
    const owner = via ?? name;
    const t = typeOf(schema, `${owner}.${k}`);
    table[name].fields[k] = via && !(via === 'Resources' && NOT_IN_RESOURCES.has(k)) ? [t, embedded(via)] : [t];
  }
  return name;
}

// The Go field name under which a definition is embedded.
function embedded(def) { return { ContainerConfig: 'Config', Resources: 'Resources' }[def]; }

// The two bodies: dockerd decodes create into container.CreateRequest (Config embedded) and update into
// container.UpdateConfig (Resources embedded).
STRUCTS.CreateRequest = 'container.CreateRequest';
STRUCTS.UpdateConfig = 'container.UpdateConfig';
struct('CreateRequest', { allOf: [{ $ref: '#/definitions/ContainerConfig' }, { properties: {
  HostConfig: { $ref: '#/definitions/HostConfig' }, NetworkingConfig: { $ref: '#/definitions/NetworkingConfig' },
} }] });
struct('UpdateConfig', { allOf: [{ $ref: '#/definitions/Resources' }, { properties: {
  RestartPolicy: { $ref: '#/definitions/RestartPolicy' },
} }] });

const text = `// The Go types dockerd decodes the container create and update bodies into, as data. Generated by
// scripts/gen-wire-types.mjs from the Engine API 1.50 definition; do not edit by hand.
//
// A type is a string: a Go scalar ('string', 'bool', 'int', 'int64', 'uint16', ...), '[]T', '[N]T', '*T',
// 'map[string]T', '@Struct' (a struct of this table), 'strslice' (a string or a list of strings), 'any', or
// 'pkg.Name=T' (a named Go type over T). A field is [type] or [type, the embedded struct it is promoted from].

/** A struct of the table: its Go name and its fields by JSON name. */
export interface WireStruct {
  go: string;
  fields: Record<string, [string] | [string, string]>;
}

/** The structs of the create (CreateRequest) and update (UpdateConfig) bodies. */
export const WIRE_STRUCTS: Record<string, WireStruct> = {
${Object.entries(table).map(([name, s]) => `  ${name}: {\n    go: ${JSON.stringify(s.go)},\n    fields: {\n${
  Object.entries(s.fields).map(([k, f]) => `      ${k}: ${JSON.stringify(f)},\n`).join('')}    },\n  },\n`).join('')}};
`;
writeFileSync(output, text);
console.log(`wrote ${output} (${Object.keys(table).length} structs)`);
