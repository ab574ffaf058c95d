import { create } from "zustand";

import * as api from "@/lib/api";
import type { User } from "@/lib/types";

export type SessionStatus = "unknown" | "authenticated" | "anonymous";

export interface SessionState {
  status: SessionStatus;
  user: User | null;
  /** Ask the server who is logged in (also fetches the CSRF cookie). */
  check: () => Promise<User | null>;
  /** Log in; throws api.ApiError (401 with a `detail`) on bad credentials. */
  login: (username: string, password: string) => Promise<User>;
  logout: () => Promise<void>;
  /** The server said the session is gone (401/403, socket close 4401). */
  expire: () => void;
}

export const useSessionStore = create<SessionState>()((set) => ({
  status: "unknown",
  user: null,

  async check() {
    const user = await api.getSession();
    set({ user, status: user ? "authenticated" : "anonymous" });
    return user;
  },

  async login(username, password) {
    const user = await api.login(username, password);
    set({ user, status: "authenticated" });
    return user;
  },

  async logout() {
    try {
      await api.logout();
    } finally {
      set({ user: null, status: "anonymous" });
    }
  },

  expire() {
    set({ user: null, status: "anonymous" });
  },
}));

/** Operators (staff users) may write and press gateway buttons; others only read. */
export const selectIsOperator = (state: SessionState): boolean => Boolean(state.user?.is_staff);
