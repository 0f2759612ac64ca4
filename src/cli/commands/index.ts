// The command tree: management groups (container, image, system) and docker's top-level shortcuts.
import type { Command, Group } from '../command.js';
import { command as attach } from './container/attach.js';
import { command as commit } from './container/commit.js';
import { command as cp } from './container/cp.js';
import { command as create } from './container/create.js';
import { command as diff } from './container/diff.js';
import { command as exec } from './container/exec.js';
import { command as exportCmd } from './container/export.js';
import { command as inspectContainer } from './container/inspect.js';
import { command as kill } from './container/kill.js';
import { command as logs } from './container/logs.js';
import { command as pause } from './container/pause.js';
import { command as port } from './container/port.js';
import { command as containerPrune } from './container/prune.js';
import { command as ps } from './container/ps.js';
import { command as rename } from './container/rename.js';
import { command as restart } from './container/restart.js';
import { command as rm } from './container/rm.js';
import { command as run } from './container/run.js';
import { command as start } from './container/start.js';
import { command as stats } from './container/stats.js';
import { command as stop } from './container/stop.js';
import { command as top } from './container/top.js';
import { command as unpause } from './container/unpause.js';
import { command as update } from './container/update.js';
import { command as wait } from './container/wait.js';
import { command as history } from './image/history.js';
import { command as importCmd } from './image/import.js';
import { command as inspectImage } from './image/inspect.js';
import { command as load } from './image/load.js';
import { command as images } from './image/ls.js';
import { command as imagePrune } from './image/prune.js';
import { command as pull } from './image/pull.js';
import { command as push } from './image/push.js';
import { command as rmi } from './image/rm.js';
import { command as save } from './image/save.js';
import { command as tag } from './image/tag.js';
import { command as networkConnect } from './network/connect.js';
import { command as networkCreate } from './network/create.js';
import { command as networkDisconnect } from './network/disconnect.js';
import { command as networkInspect } from './network/inspect.js';
import { command as networkLs } from './network/ls.js';
import { command as networkPrune } from './network/prune.js';
import { command as networkRm } from './network/rm.js';
import { command as df } from './system/df.js';
import { command as events } from './system/events.js';
import { command as info } from './system/info.js';
import { command as inspect } from './system/inspect.js';
import { command as systemPrune } from './system/prune.js';
import { command as version } from './system/version.js';
import { command as volumeCreate } from './volume/create.js';
import { command as volumeInspect } from './volume/inspect.js';
import { command as volumeLs } from './volume/ls.js';
import { command as volumePrune } from './volume/prune.js';
import { command as volumeRm } from './volume/rm.js';

export const GROUPS: Group[] = [
  {
    name: 'container',
    short: 'Manage containers',
    commands: [attach, commit, cp, create, diff, exec, exportCmd, inspectContainer, kill, logs, ps, pause, port, containerPrune, rename, restart, rm, run, start, stats, stop, top, unpause, update, wait],
  },
  {
    name: 'image',
    short: 'Manage images',
    commands: [history, importCmd, inspectImage, load, images, imagePrune, pull, push, rmi, save, tag],
  },
  {
    name: 'network',
    short: 'Manage networks',
    commands: [networkConnect, networkCreate, networkDisconnect, networkInspect, networkLs, networkPrune, networkRm],
  },
  {
    name: 'system',
    short: 'Manage Berth',
    commands: [df, events, info, systemPrune],
  },
  {
    name: 'volume',
    short: 'Manage volumes',
    commands: [volumeCreate, volumeInspect, volumeLs, volumePrune, volumeRm],
  },
];

/** `berth <name>` shortcuts, as docker keeps them. */
export const TOP_LEVEL: Record<string, Command> = {
  attach, commit, cp, create, diff, events, exec, export: exportCmd, history, images, import: importCmd, info, inspect, kill, load, logs,
  pause, port, ps, pull, push, rename, restart, rm, rmi, run, save, start, stats, stop, tag, top, unpause, update, version, wait,
};

/** docker's "Common Commands" in root help. */
export const COMMON = ['run', 'exec', 'ps', 'pull', 'push', 'images', 'version', 'info'];
