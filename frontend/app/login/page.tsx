import { Suspense } from "react";

import { LoginForm } from "@/components/login-form";

export const metadata = { title: "Log in" };

export default function LoginPage() {
  return (
    <main id="main" className="flex min-h-screen items-center justify-center p-4">
      <Suspense>
        <LoginForm />
      </Suspense>
    </main>
  );
}
