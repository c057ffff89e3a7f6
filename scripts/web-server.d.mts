// Types of scripts/web-server.mjs for the TypeScript tests that import it.
import type { Server } from "node:http";

export function resolveTarget(root: string, target: unknown): { file: string; status?: undefined } | { file?: undefined; status: number };
export function createLabServer(root: string): Server;
