import { create } from "zustand";

import * as api from "@/lib/api";
import type { GatewayTypeInfo } from "@/lib/types";

export interface GatewayTypesState {
  /** From GET /api/gateway-types; empty until loaded. */
  types: GatewayTypeInfo[];
  loaded: boolean;
  loadError: string | null;
  /** Loads once; later calls reuse the answer (the specs change only with the server). */
  load: () => Promise<void>;
}

let inFlight: Promise<void> | null = null;

export const useGatewayTypesStore = create<GatewayTypesState>()((set, get) => ({
  types: [],
  loaded: false,
  loadError: null,

  load() {
    if (get().loaded) return Promise.resolve();
    inFlight ??= api
      .getGatewayTypes()
      .then((types) => set({ types, loaded: true, loadError: null }))
      .catch((error: unknown) => set({ loadError: `Gateway types could not be loaded: ${(error as Error).message}` }))
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  },
}));
