import { BridgePanel } from "@/components/bridge-panel";
import { FailoverList } from "@/components/failover-list";
import { GatewayTable } from "@/components/gateway-table";
import { RecordingCard } from "@/components/recording-card";
import { StatusSummary } from "@/components/status-summary";

export const metadata = { title: "Status" };

export default function StatusPage() {
  return (
    <>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-semibold tracking-tight">Status</h1>
        <p className="text-muted-foreground text-sm">Every source, live. Click a troubled state to see its warnings and errors.</p>
      </div>
      <StatusSummary />
      <GatewayTable />
      <BridgePanel />
      <FailoverList />
      <RecordingCard />
    </>
  );
}
