// The berth CLI's version string.
export const VERSION = '0.1.0';
