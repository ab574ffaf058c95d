"use client";

import { Loader2, Trash2 } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";

import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "@/components/ui/alert-dialog";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { FormField } from "@/components/form-field";
import { Input } from "@/components/ui/input";
import { NativeSelect, NativeSelectOption } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";
import { buildSettings, parseCanaries, specsFor } from "@/lib/account-form";
import { ApiError, fieldErrors } from "@/lib/api";
import type { Account, AccountInput, GatewayType, GatewayTypeInfo, SettingSpec } from "@/lib/types";
import { cn } from "@/lib/utils";
import { useAccountsStore } from "@/stores/accounts";
import { useGatewayTypesStore } from "@/stores/gateway-types";

interface FormValues {
  id: string;
  gateway_type: GatewayType;
  priority: string;
  is_enabled: boolean;
  description: string;
  canaries: string;
  settings: Record<string, string>;
}

function initialValues(account: Account | null): FormValues {
  if (!account) {
    return {
      id: "",
      gateway_type: "ctp",
      priority: "10",
      is_enabled: false,
      description: "",
      canaries: "",
      settings: {},
    };
  }
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(account.settings ?? {})) {
    if (value !== null && value !== undefined) settings[name] = String(value);
  }
  return {
    id: account.id,
    gateway_type: account.gateway_type,
    priority: String(account.priority),
    is_enabled: account.is_enabled,
    description: account.description ?? "",
    canaries: (account.canaries ?? []).join(", "),
    settings,
  };
}

function toInput(values: FormValues, account: Account | null, types: readonly GatewayTypeInfo[]): AccountInput {
  const priority = values.priority.trim();
  const asNumber = Number(priority);
  const input: AccountInput = {
    gateway_type: values.gateway_type,
    priority: priority !== "" && Number.isInteger(asNumber) ? asNumber : priority,
    is_enabled: values.is_enabled,
    description: values.description,
    canaries: parseCanaries(values.canaries),
    settings: buildSettings(
      types,
      values.gateway_type,
      values.settings,
      account && account.gateway_type === values.gateway_type ? account.settings : {},
    ),
  };
  if (!account) input.id = values.id.trim();
  return input;
}

/** Field keys the form can show an error at; anything else goes in the form-level alert. */
function knownFields(specs: readonly SettingSpec[], creating: boolean): Set<string> {
  const keys = ["gateway_type", "priority", "is_enabled", "description", "canaries", "settings"];
  if (creating) keys.push("id");
  for (const spec of specs) keys.push(`settings.${spec.name}`);
  return new Set(keys);
}

function fieldDomId(key: string): string {
  return `account-${key.replace(/\./g, "-")}`;
}

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** null: create a new account. */
  account: Account | null;
  readOnly?: boolean;
}

/** Create or edit an account. Secrets are write-only: shown as set / not set, blank keeps. */
export function AccountFormDialog({ open, onOpenChange, account, readOnly = false }: Props) {
  const creating = account === null;
  const save = useAccountsStore((state) => state.save);
  const remove = useAccountsStore((state) => state.remove);
  const [values, setValues] = useState<FormValues>(() => initialValues(account));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const types = useGatewayTypesStore((state) => state.types);
  const typesLoaded = useGatewayTypesStore((state) => state.loaded);
  const typesError = useGatewayTypesStore((state) => state.loadError);

  useEffect(() => {
    if (open && !typesLoaded) void useGatewayTypesStore.getState().load();
  }, [open, typesLoaded]);

  useEffect(() => {
    if (open) {
      setValues(initialValues(account));
      setErrors({});
      setBusy(false);
    }
  }, [open, account]);

  // After a rejected save, put the keyboard on the first field the server complained about.
  useEffect(() => {
    const first = formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']");
    first?.focus();
  }, [errors]);

  const specs = specsFor(types, values.gateway_type);
  const typeLabel = types.find((type) => type.gateway_type === values.gateway_type)?.label ?? values.gateway_type;
  const known = knownFields(specs, creating);
  const formErrors = Object.entries(errors).filter(([key]) => !known.has(key));

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) =>
    setValues((current) => ({ ...current, [key]: value }));
  const setSetting = (name: string, value: string) =>
    setValues((current) => ({ ...current, settings: { ...current.settings, [name]: value } }));

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (readOnly) return;
    if (!typesLoaded) {
      // Without the server's specs the settings would be sent empty: wait for them.
      setErrors({ _form: typesError ?? "The gateway types are still loading; try again in a moment." });
      void useGatewayTypesStore.getState().load();
      return;
    }
    const local: Record<string, string> = {};
    if (creating && !values.id.trim()) local.id = "Give the account a short unique id, e.g. ctp-main.";
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const saved = await save(account?.id ?? null, toInput(values, account, types));
      toast.success(creating ? `Account ${saved.id} created.` : `Account ${saved.id} saved.`);
      onOpenChange(false);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const found = fieldErrors(error.body);
        setErrors(Object.keys(found).length ? found : { _form: error.message });
      } else {
        setErrors({ _form: (error as Error).message });
      }
    } finally {
      setBusy(false);
    }
  }

  async function onDelete() {
    if (!account) return;
    setConfirmDelete(false);
    setBusy(true);
    try {
      await remove(account.id);
      toast.success(`Account ${account.id} deleted.`);
      onOpenChange(false);
    } catch (error) {
      setErrors({ _form: (error as Error).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-h-[92vh] overflow-y-auto sm:max-w-2xl">
        <DialogHeader>
          <DialogTitle>{creating ? "New account" : `Edit ${account.id}`}</DialogTitle>
          <DialogDescription>
            {creating
              ? "A market-data account the hub can log in to. Enable it to start its gateway."
              : "Changes apply when saved. Secrets are never shown: leave them blank to keep the stored ones."}
          </DialogDescription>
        </DialogHeader>

        <form ref={formRef} id="account-form" className="grid gap-5" onSubmit={onSubmit} noValidate>
          {formErrors.length ? (
            <Alert variant="destructive" data-testid="form-error">
              <AlertTitle>Not saved</AlertTitle>
              <AlertDescription>
                <ul className="list-disc pl-4">
                  {formErrors.map(([key, message]) => (
                    <li key={key}>{key === "_form" ? message : `${key.replace(/^settings\./, "")}: ${message}`}</li>
                  ))}
                </ul>
              </AlertDescription>
            </Alert>
          ) : null}

          <fieldset className="grid gap-4 sm:grid-cols-2" disabled={readOnly || busy}>
            <legend className="sr-only">Account</legend>
            <FormField
              id={fieldDomId("id")}
              label="ID"
              help={creating ? "Letters, digits, - and _. Cannot change later." : "The id cannot change."}
              error={errors.id}
            >
              {(control) => (
                <Input
                  {...control}
                  value={values.id}
                  onChange={(event) => set("id", event.target.value)}
                  readOnly={!creating}
                  aria-readonly={!creating || undefined}
                  required
                  autoComplete="off"
                  spellCheck={false}
                />
              )}
            </FormField>

            <FormField id={fieldDomId("gateway_type")} label="Type" error={errors.gateway_type}>
              {(control) => (
                <NativeSelect
                  {...control}
                  className="w-full"
                  value={values.gateway_type}
                  onChange={(event) => set("gateway_type", event.target.value as GatewayType)}
                >
                  {types.length === 0 ? (
                    <NativeSelectOption value={values.gateway_type}>{values.gateway_type}</NativeSelectOption>
                  ) : null}
                  {types.map((type) => (
                    <NativeSelectOption key={type.gateway_type} value={type.gateway_type}>
                      {type.label}
                    </NativeSelectOption>
                  ))}
                </NativeSelect>
              )}
            </FormField>

            <FormField
              id={fieldDomId("priority")}
              label="Priority"
              help="Lower is preferred: the best healthy source is the primary."
              error={errors.priority}
            >
              {(control) => (
                <Input
                  {...control}
                  inputMode="numeric"
                  className="tabular-nums"
                  value={values.priority}
                  onChange={(event) => set("priority", event.target.value)}
                />
              )}
            </FormField>

            <FormField
              id={fieldDomId("is_enabled")}
              label="Enabled"
              help={values.is_enabled ? "The hub runs this account." : "The hub leaves it stopped."}
              error={errors.is_enabled}
              inlineHelp
            >
              {(control) => (
                <Switch
                  {...control}
                  checked={values.is_enabled}
                  onCheckedChange={(checked) => set("is_enabled", checked)}
                />
              )}
            </FormField>

            <FormField
              id={fieldDomId("canaries")}
              label="Canary contracts"
              help="High-liquidity vt_symbols whose ticks prove this source alive, separated by commas."
              error={errors.canaries}
              className="sm:col-span-2"
            >
              {(control) => (
                <Input
                  {...control}
                  value={values.canaries}
                  onChange={(event) => set("canaries", event.target.value)}
                  spellCheck={false}
                  placeholder="rb2601.SHFE, IF2612.CFFEX"
                />
              )}
            </FormField>

            <FormField
              id={fieldDomId("description")}
              label="Description"
              error={errors.description}
              className="sm:col-span-2"
            >
              {(control) => (
                <Textarea
                  {...control}
                  value={values.description}
                  onChange={(event) => set("description", event.target.value)}
                  rows={2}
                />
              )}
            </FormField>
          </fieldset>

          <fieldset className="grid gap-4 rounded-lg border p-4 sm:grid-cols-2" disabled={readOnly || busy}>
            <legend className="px-1 text-sm font-medium">{typeLabel} settings</legend>
            {!typesLoaded ? (
              typesError ? (
                <p className="text-sm text-amber-200 sm:col-span-2" role="alert" data-testid="gateway-types-error">
                  {typesError}{" "}
                  <Button type="button" variant="link" className="h-auto p-0" onClick={() => void useGatewayTypesStore.getState().load()}>
                    Try again
                  </Button>
                </p>
              ) : (
                <Skeleton className="h-16 w-full sm:col-span-2" aria-label="Loading the settings of this type" />
              )
            ) : null}
            {errors.settings ? (
              <p className="text-sm text-red-300 sm:col-span-2" data-testid="field-error">
                {errors.settings}
              </p>
            ) : null}
            {specs.map((spec) => (
              <SettingField
                key={`${values.gateway_type}-${spec.name}`}
                spec={spec}
                value={values.settings[spec.name] ?? ""}
                isSet={
                  account === null
                    ? undefined // a new account has no stored secrets to speak of
                    : account.gateway_type === values.gateway_type
                      ? Boolean(account.secrets_set?.[spec.name])
                      : false
                }
                error={errors[`settings.${spec.name}`]}
                onChange={(value) => setSetting(spec.name, value)}
              />
            ))}
          </fieldset>
        </form>

        <DialogFooter className="gap-2 sm:justify-between">
          <div>
            {!creating && !readOnly ? (
              <Button type="button" variant="ghost" className="text-red-300 hover:text-red-200" onClick={() => setConfirmDelete(true)} disabled={busy}>
                <Trash2 aria-hidden="true" />
                Delete
              </Button>
            ) : null}
          </div>
          <div className="flex flex-col-reverse gap-2 sm:flex-row">
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {readOnly ? "Close" : "Cancel"}
            </Button>
            {!readOnly ? (
              <Button type="submit" form="account-form" disabled={busy}>
                {busy ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
                {creating ? "Create account" : "Save"}
              </Button>
            ) : null}
          </div>
        </DialogFooter>

        <AlertDialog open={confirmDelete} onOpenChange={setConfirmDelete}>
          <AlertDialogContent>
            <AlertDialogHeader>
              <AlertDialogTitle>Delete {account?.id}?</AlertDialogTitle>
              <AlertDialogDescription>
                The account and its settings are removed; if it is running, the hub stops its gateway. This cannot be
                undone.
              </AlertDialogDescription>
            </AlertDialogHeader>
            <AlertDialogFooter>
              <AlertDialogCancel>Cancel</AlertDialogCancel>
              <AlertDialogAction className="bg-red-600 text-white hover:bg-red-700" onClick={onDelete}>
                Delete
              </AlertDialogAction>
            </AlertDialogFooter>
          </AlertDialogContent>
        </AlertDialog>
      </DialogContent>
    </Dialog>
  );
}

function SettingField({
  spec,
  value,
  isSet,
  error,
  onChange,
}: {
  spec: SettingSpec;
  value: string;
  isSet?: boolean;
  error?: string;
  onChange: (value: string) => void;
}) {
  const secret = spec.kind === "secret";
  const numeric = spec.kind === "number" || spec.kind === "fraction";
  return (
    <FormField
      id={fieldDomId(`settings.${spec.name}`)}
      label={spec.label}
      labelExtra={
        <>
          {spec.required ? <span className="text-muted-foreground text-xs font-normal">(required)</span> : null}
          {secret && isSet !== undefined ? (
            <span
              className={cn(
                "rounded border px-1.5 py-0.5 text-xs font-normal",
                isSet ? "border-emerald-500/40 text-emerald-300" : "text-muted-foreground",
              )}
              data-testid={`secret-state-${spec.name}`}
            >
              {isSet ? "set" : "not set"}
            </span>
          ) : null}
        </>
      }
      help={spec.help}
      error={error}
    >
      {(control) => (
        <Input
          {...control}
          name={spec.name}
          type={secret ? "password" : "text"}
          inputMode={numeric ? "decimal" : undefined}
          autoComplete={secret ? "new-password" : "off"}
          spellCheck={false}
          className={numeric ? "tabular-nums" : undefined}
          value={value}
          placeholder={secret && isSet ? "•••••• (leave blank to keep)" : spec.kind === "address" ? "tcp://host:port" : undefined}
          onChange={(event) => onChange(event.target.value)}
          aria-required={spec.required || undefined}
        />
      )}
    </FormField>
  );
}
