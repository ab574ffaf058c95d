import { Suspense } from "react";

import { ContractsTable } from "@/components/contracts-table";
import { Skeleton } from "@/components/ui/skeleton";

export const metadata = { title: "Contracts" };

export default function ContractsPage() {
  return (
    // The chart's contract lives in the query string (?symbol=), read on the client.
    <Suspense fallback={<Skeleton className="h-96 w-full" />}>
      <ContractsTable />
    </Suspense>
  );
}
