import { SourceCharts } from "@/components/source-charts";
import { SpeedTable } from "@/components/speed-table";

export const metadata = { title: "Sources" };

export default function SourcesPage() {
  return (
    <div className="space-y-6">
      <h1 className="text-xl font-semibold">Sources</h1>
      <SourceCharts />
      <SpeedTable />
    </div>
  );
}
