/**
 * The slice of Electron 41's API that main/host/electron uses, typed as in Electron's own electron.d.ts.
 * `electron` is an optional dependency that is not installed everywhere (CI, `serve`-only machines), so
 * the hosts are typed against this instead. Keep it minimal; if `electron` is installed and its own
 * types are wanted, delete this file (the two declarations of the module would merge).
 */
declare module 'electron' {
  import { EventEmitter } from 'node:events';

  // ---------- shared ----------

  export type Event<Params extends object = Record<never, never>> = {
    preventDefault: () => void;
    readonly defaultPrevented: boolean;
  } & Params;

  // ---------- app ----------

  type PathName =
    | 'home'
    | 'appData'
    | 'assets'
    | 'userData'
    | 'sessionData'
    | 'temp'
    | 'exe'
    | 'module'
    | 'desktop'
    | 'documents'
    | 'downloads'
    | 'music'
    | 'pictures'
    | 'videos'
    | 'recent'
    | 'logs'
    | 'crashDumps';

  export interface App extends NodeJS.EventEmitter {
    on(event: 'window-all-closed', listener: () => void): this;
    on(event: 'before-quit', listener: (event: Event) => void): this;
    on(event: 'will-quit', listener: (event: Event) => void): this;
    on(event: 'activate', listener: (event: Event, hasVisibleWindows: boolean) => void): this;
    on(event: 'second-instance', listener: (event: Event, argv: string[], workingDirectory: string, additionalData: unknown) => void): this;
    whenReady(): Promise<void>;
    getPath(name: PathName): string;
    getAppPath(): string;
    getVersion(): string;
    requestSingleInstanceLock(additionalData?: Record<string, unknown>): boolean;
    quit(): void;
    exit(exitCode?: number): void;
    readonly isPackaged: boolean;
  }
  export const app: App;

  // ---------- windows and web contents ----------

  export interface WebPreferences {
    preload?: string;
    sandbox?: boolean;
    nodeIntegration?: boolean;
    contextIsolation?: boolean;
    webSecurity?: boolean;
    webviewTag?: boolean;
    spellcheck?: boolean;
    devTools?: boolean;
  }

  export interface BrowserWindowConstructorOptions {
    width?: number;
    height?: number;
    minWidth?: number;
    minHeight?: number;
    show?: boolean;
    title?: string;
    backgroundColor?: string;
    autoHideMenuBar?: boolean;
    webPreferences?: WebPreferences;
  }

  export interface WebFrameMain {
    readonly url: string;
    readonly origin: string;
    readonly parent: WebFrameMain | null;
  }

  export interface HandlerDetails {
    url: string;
    frameName: string;
    features: string;
    disposition: 'default' | 'foreground-tab' | 'background-tab' | 'new-window' | 'other';
  }

  export interface WindowOpenHandlerResponse {
    action: 'deny' | 'allow';
  }

  export interface WebContentsWillNavigateEventParams {
    url: string;
    isSameDocument: boolean;
    isMainFrame: boolean;
    frame: WebFrameMain | null;
    initiator?: WebFrameMain | null;
  }

  export interface RenderProcessGoneDetails {
    reason: 'clean-exit' | 'abnormal-exit' | 'killed' | 'crashed' | 'oom' | 'launch-failed' | 'integrity-failure' | 'memory-eviction';
    exitCode: number;
  }

  export interface WebContents extends NodeJS.EventEmitter {
    on(
      event: 'will-navigate' | 'will-redirect',
      listener: (details: Event<WebContentsWillNavigateEventParams>, url: string, isInPlace: boolean, isMainFrame: boolean, frameProcessId: number, frameRoutingId: number) => void,
    ): this;
    on(event: 'will-attach-webview', listener: (event: Event) => void): this;
    on(event: 'render-process-gone', listener: (event: Event, details: RenderProcessGoneDetails) => void): this;
    readonly id: number;
    readonly mainFrame: WebFrameMain;
    send(channel: string, ...args: unknown[]): void;
    setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void;
    isDestroyed(): boolean;
  }

  export class BrowserWindow extends EventEmitter {
    constructor(options?: BrowserWindowConstructorOptions);
    static getAllWindows(): BrowserWindow[];
    on(event: 'ready-to-show' | 'closed', listener: () => void): this;
    once(event: 'ready-to-show' | 'closed', listener: () => void): this;
    readonly webContents: WebContents;
    loadURL(url: string): Promise<void>;
    show(): void;
    focus(): void;
    restore(): void;
    isMinimized(): boolean;
    isDestroyed(): boolean;
  }

  // ---------- IPC ----------

  export interface IpcMainInvokeEvent extends Event {
    processId: number;
    frameId: number;
    sender: WebContents;
    readonly senderFrame: WebFrameMain | null;
  }

  export interface IpcMain extends NodeJS.EventEmitter {
    handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
    removeHandler(channel: string): void;
  }
  export const ipcMain: IpcMain;

  export interface IpcRendererEvent extends Event {
    sender: IpcRenderer;
  }

  export interface IpcRenderer extends NodeJS.EventEmitter {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): this;
    removeListener(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): this;
  }
  export const ipcRenderer: IpcRenderer;

  export interface ContextBridge {
    exposeInMainWorld(apiKey: string, api: unknown): void;
  }
  export const contextBridge: ContextBridge;

  export interface WebUtils {
    getPathForFile(file: File): string;
  }
  export const webUtils: WebUtils;

  // ---------- protocol, net, session ----------

  export interface Privileges {
    standard?: boolean;
    secure?: boolean;
    bypassCSP?: boolean;
    allowServiceWorkers?: boolean;
    supportFetchAPI?: boolean;
    corsEnabled?: boolean;
    stream?: boolean;
    codeCache?: boolean;
  }

  export interface CustomScheme {
    scheme: string;
    privileges?: Privileges;
  }

  export interface Protocol {
    registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  }
  export const protocol: Protocol;

  export interface Net {
    fetch(input: string | Request, init?: RequestInit & { bypassCustomProtocolHandlers?: boolean }): Promise<Response>;
  }
  export const net: Net;

  export interface OnHeadersReceivedListenerDetails {
    id: number;
    url: string;
    method: string;
    resourceType: string;
    statusLine: string;
    statusCode: number;
    responseHeaders?: Record<string, string[]>;
  }

  export interface HeadersReceivedResponse {
    cancel?: boolean;
    responseHeaders?: Record<string, string | string[]>;
    statusLine?: string;
  }

  export interface WebRequest {
    onHeadersReceived(
      listener: ((details: OnHeadersReceivedListenerDetails, callback: (headersReceivedResponse: HeadersReceivedResponse) => void) => void) | null,
    ): void;
  }

  export interface Session {
    readonly webRequest: WebRequest;
    setPermissionRequestHandler(
      handler: ((webContents: WebContents, permission: string, callback: (permissionGranted: boolean) => void, details: unknown) => void) | null,
    ): void;
    setPermissionCheckHandler(handler: ((webContents: WebContents | null, permission: string, requestingOrigin: string, details: unknown) => boolean) | null): void;
  }
  export const session: { readonly defaultSession: Session };

  // ---------- processes, shell, dialogs ----------

  export interface ForkOptions {
    env?: NodeJS.ProcessEnv;
    execArgv?: string[];
    cwd?: string;
    stdio?: Array<'pipe' | 'ignore' | 'inherit'> | string;
    serviceName?: string;
    allowLoadingUnsignedLibraries?: boolean;
  }

  export interface UtilityProcess extends NodeJS.EventEmitter {
    on(event: 'spawn', listener: () => void): this;
    on(event: 'exit', listener: (code: number) => void): this;
    on(event: 'message', listener: (message: unknown) => void): this;
    on(event: 'error', listener: (type: 'FatalError', location: string, report: string) => void): this;
    postMessage(message: unknown): void;
    kill(): boolean;
    readonly pid: number | undefined;
    readonly stdout: NodeJS.ReadableStream | null;
    readonly stderr: NodeJS.ReadableStream | null;
  }

  export interface UtilityProcessModule {
    fork(modulePath: string, args?: string[], options?: ForkOptions): UtilityProcess;
  }
  export const utilityProcess: UtilityProcessModule;

  export interface Shell {
    openExternal(url: string, options?: { activate?: boolean }): Promise<void>;
  }
  export const shell: Shell;

  export interface Dialog {
    showErrorBox(title: string, content: string): void;
  }
  export const dialog: Dialog;
}
