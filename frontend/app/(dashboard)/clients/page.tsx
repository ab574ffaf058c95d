import { ConnectedClients } from "@/components/connected-clients";
import { StreamClientsTable } from "@/components/stream-clients-table";

export const metadata = { title: "Clients" };

export default function ClientsPage() {
  return (
    <>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-semibold tracking-tight">Clients</h1>
        <p className="text-muted-foreground text-sm">Who reads the tick stream, and who may (docs/access.md).</p>
      </div>
      <ConnectedClients />
      <StreamClientsTable />
    </>
  );
}
