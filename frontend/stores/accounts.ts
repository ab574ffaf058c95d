import { create } from "zustand";

import * as api from "@/lib/api";
import type { Account, AccountInput } from "@/lib/types";

export interface AccountsState {
  accounts: Account[];
  loaded: boolean;
  loadError: string | null;
  /** Account ids whose enable toggle is on its way to the server. */
  toggling: Record<string, boolean>;

  load: () => Promise<void>;
  /** Optimistic: flips at once, flips back (and rethrows) if the server refuses. */
  setEnabled: (id: string, enabled: boolean) => Promise<Account>;
  /** Create (existingId null) or update; throws api.ApiError with a 400 body on bad input. */
  save: (existingId: string | null, input: AccountInput) => Promise<Account>;
  remove: (id: string) => Promise<void>;
}

function sortAccounts(accounts: Account[]): Account[] {
  return [...accounts].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
}

function upsert(accounts: Account[], account: Account): Account[] {
  const others = accounts.filter((item) => item.id !== account.id);
  return sortAccounts([...others, account]);
}

export const useAccountsStore = create<AccountsState>()((set, get) => ({
  accounts: [],
  loaded: false,
  loadError: null,
  toggling: {},

  async load() {
    try {
      const accounts = await api.listAccounts();
      set({ accounts: sortAccounts(accounts), loaded: true, loadError: null });
    } catch (error) {
      set({ loaded: true, loadError: (error as Error).message });
    }
  },

  async setEnabled(id, enabled) {
    const before = get().accounts.find((item) => item.id === id);
    set({
      toggling: { ...get().toggling, [id]: true },
      accounts: get().accounts.map((item) => (item.id === id ? { ...item, is_enabled: enabled } : item)),
    });
    try {
      const saved = await api.setAccountEnabled(id, enabled);
      set({ accounts: upsert(get().accounts, saved) });
      return saved;
    } catch (error) {
      if (before) set({ accounts: upsert(get().accounts, before) });
      throw error;
    } finally {
      const { [id]: _done, ...rest } = get().toggling;
      set({ toggling: rest });
    }
  },

  async save(existingId, input) {
    const saved = existingId ? await api.updateAccount(existingId, input) : await api.createAccount(input);
    set({ accounts: upsert(get().accounts, saved) });
    return saved;
  },

  async remove(id) {
    await api.deleteAccount(id);
    set({ accounts: get().accounts.filter((item) => item.id !== id) });
  },
}));
