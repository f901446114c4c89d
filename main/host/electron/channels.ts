/** The two Electron IPC channels the preload and the main process share; everything else is the contract. */
export const REQUEST_CHANNEL = 'gan-studio:request';
export const EVENT_CHANNEL = 'gan-studio:event';
