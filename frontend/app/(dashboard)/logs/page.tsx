import { Suspense } from "react";

import { LogViewer } from "@/components/log-viewer";
import { Skeleton } from "@/components/ui/skeleton";

export const metadata = { title: "Logs" };

export default function LogsPage() {
  return (
    // The filters live in the query string (?account=&level=), read on the client.
    <Suspense fallback={<Skeleton className="h-96 w-full" />}>
      <LogViewer />
    </Suspense>
  );
}
