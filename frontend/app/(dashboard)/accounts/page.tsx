import { AccountsTable } from "@/components/accounts-table";

export const metadata = { title: "Accounts" };

export default function AccountsPage() {
  return <AccountsTable />;
}
