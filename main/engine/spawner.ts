export interface EngineChild { send(message: unknown): void; onMessage(listener: (message: unknown) => void): void; onExit(listener: (code: number | null, signal: string | null) => void): void; kill(): void; pid: number | undefined; }
export type EngineSpawner = () => EngineChild;
