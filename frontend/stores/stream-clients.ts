import { create } from "zustand";

import * as api from "@/lib/api";
import type { StreamClient, StreamClientInput } from "@/lib/types";

export interface StreamClientsState {
  clients: StreamClient[];
  loaded: boolean;
  loadError: string | null;
  /** Names whose enable toggle is on its way to the server. */
  toggling: Record<string, boolean>;

  load: () => Promise<void>;
  /** Throws api.ApiError with a 400 body on bad input. The answer holds the secret key once:
   * the store keeps the client without it, so it is never shown again. */
  create: (input: StreamClientInput) => Promise<StreamClient>;
  /** Optimistic: flips at once, flips back (and rethrows) if the server refuses. */
  setEnabled: (name: string, enabled: boolean) => Promise<StreamClient>;
}

function upsert(clients: StreamClient[], client: StreamClient): StreamClient[] {
  const kept = { ...client, secret_key: null };
  return [...clients.filter((item) => item.name !== client.name), kept].sort((a, b) => a.name.localeCompare(b.name));
}

export const useStreamClientsStore = create<StreamClientsState>()((set, get) => ({
  clients: [],
  loaded: false,
  loadError: null,
  toggling: {},

  async load() {
    try {
      const clients = await api.listStreamClients();
      set({ clients: clients.sort((a, b) => a.name.localeCompare(b.name)), loaded: true, loadError: null });
    } catch (error) {
      set({ loaded: true, loadError: (error as Error).message });
    }
  },

  async create(input) {
    const created = await api.createStreamClient(input);
    set({ clients: upsert(get().clients, created) });
    return created;
  },

  async setEnabled(name, enabled) {
    const before = get().clients.find((item) => item.name === name);
    set({
      toggling: { ...get().toggling, [name]: true },
      clients: get().clients.map((item) => (item.name === name ? { ...item, is_enabled: enabled } : item)),
    });
    try {
      const saved = await api.updateStreamClient(name, { is_enabled: enabled });
      set({ clients: upsert(get().clients, saved) });
      return saved;
    } catch (error) {
      if (before) set({ clients: upsert(get().clients, before) });
      throw error;
    } finally {
      const { [name]: _done, ...rest } = get().toggling;
      set({ toggling: rest });
    }
  },
}));
