import { ContractsTable } from "@/components/contracts-table";

export const metadata = { title: "Contracts" };

export default function ContractsPage() {
  return <ContractsTable />;
}
