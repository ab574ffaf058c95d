import Link from "next/link";

export const metadata = { title: "Not found" };

export default function NotFound() {
  return (
    <main id="main" className="mx-auto flex min-h-screen max-w-md flex-col items-center justify-center gap-4 p-6 text-center">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="text-muted-foreground">There is no dashboard page at this address.</p>
      <Link className="underline underline-offset-4 focus-visible:outline-2 focus-visible:outline-ring" href="/">
        Go to the status page
      </Link>
    </main>
  );
}
