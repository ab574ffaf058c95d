"use client";

import { Check, Copy, KeyRound, Loader2 } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";

import { FormField } from "@/components/form-field";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";
import { ApiError, fieldErrors } from "@/lib/api";
import {
  emptyStreamClientForm,
  localErrors,
  streamClientInput,
  type StreamClientFormValues,
} from "@/lib/stream-clients";
import type { StreamClient } from "@/lib/types";
import { useStreamClientsStore } from "@/stores/stream-clients";

const FIELDS = [
  "name",
  "prefixes",
  "public_key",
  "is_enabled",
  "max_subscriptions",
  "max_upstream",
  "requests_per_second",
  "description",
] as const;

function fieldDomId(key: string): string {
  return `stream-client-${key.replace(/_/g, "-")}`;
}

interface Props {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

/**
 * Add a stream client. Without a public key the hub makes the pair and answers the secret
 * key once: the dialog then shows it (and only then) until it is closed; nothing keeps it.
 */
export function StreamClientDialog({ open, onOpenChange }: Props) {
  const create = useStreamClientsStore((state) => state.create);
  const [values, setValues] = useState<StreamClientFormValues>(emptyStreamClientForm);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<StreamClient | null>(null);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (open) {
      setValues(emptyStreamClientForm());
      setErrors({});
      setBusy(false);
    } else {
      // Closed: the secret key leaves memory with the dialog's state.
      setCreated(null);
    }
  }, [open]);

  // After a rejected save, put the keyboard on the first field the server complained about.
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus();
  }, [errors]);

  const known = new Set<string>(FIELDS);
  const formErrors = Object.entries(errors).filter(([key]) => !known.has(key));
  const set = <K extends keyof StreamClientFormValues>(key: K, value: StreamClientFormValues[K]) =>
    setValues((current) => ({ ...current, [key]: value }));

  async function onSubmit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const local = localErrors(values);
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const saved = await create(streamClientInput(values));
      toast.success(`Stream client ${saved.name} added.`);
      if (saved.secret_key) setCreated(saved);
      else onOpenChange(false); // it brought its own key pair: nothing to show
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

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent
        className="max-h-[92vh] overflow-y-auto sm:max-w-2xl"
        // While the secret is shown, a stray click (a toast, the backdrop) or Escape must not
        // throw away the only copy: it closes with "I have copied it" alone.
        showCloseButton={!created}
        onInteractOutside={created ? (event) => event.preventDefault() : undefined}
        onEscapeKeyDown={created ? (event) => event.preventDefault() : undefined}
      >
        {created ? (
          <SecretKeyOnce client={created} onDone={() => onOpenChange(false)} />
        ) : (
          <>
            <DialogHeader>
              <DialogTitle>Add client</DialogTitle>
              <DialogDescription>
                A reader of the tick stream: its name, the topics it may read and its quotas. Leave the public key empty and
                the hub makes a key pair; its secret key is shown once, after saving.
              </DialogDescription>
            </DialogHeader>

            <form ref={formRef} id="stream-client-form" className="grid gap-5" onSubmit={onSubmit} noValidate>
              {formErrors.length ? (
                <Alert variant="destructive" data-testid="form-error">
                  <AlertTitle>Not saved</AlertTitle>
                  <AlertDescription>
                    <ul className="list-disc pl-4">
                      {formErrors.map(([key, message]) => (
                        <li key={key}>{key === "_form" ? message : `${key}: ${message}`}</li>
                      ))}
                    </ul>
                  </AlertDescription>
                </Alert>
              ) : null}

              <fieldset className="grid gap-4 sm:grid-cols-2" disabled={busy}>
                <legend className="sr-only">Stream client</legend>
                <FormField
                  id={fieldDomId("name")}
                  label="Name"
                  help="Letters, digits, - and _; the connection's User-Id. Cannot change later."
                  error={errors.name}
                >
                  {(control) => (
                    <Input
                      {...control}
                      value={values.name}
                      onChange={(event) => set("name", event.target.value)}
                      required
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="cta-desk"
                    />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("is_enabled")}
                  label="Enabled"
                  help={values.is_enabled ? "It may connect at once." : "Its key is refused until enabled."}
                  error={errors.is_enabled}
                  inlineHelp
                >
                  {(control) => (
                    <Switch {...control} checked={values.is_enabled} onCheckedChange={(checked) => set("is_enabled", checked)} />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("prefixes")}
                  label="Topic prefixes"
                  labelExtra={<span className="text-muted-foreground text-xs font-normal"> (required)</span>}
                  help="What it may read, separated by commas: tick.rb (every rb contract), tick.rb2601.SHFE, bar.rb; tick. is every contract."
                  error={errors.prefixes}
                  className="sm:col-span-2"
                >
                  {(control) => (
                    <Input
                      {...control}
                      value={values.prefixes}
                      onChange={(event) => set("prefixes", event.target.value)}
                      spellCheck={false}
                      placeholder="tick.rb, tick.au"
                      aria-required
                    />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("max_subscriptions")}
                  label="Max subscriptions"
                  help="Subscriptions it may hold at once."
                  error={errors.max_subscriptions}
                >
                  {(control) => (
                    <Input
                      {...control}
                      inputMode="numeric"
                      className="tabular-nums"
                      value={values.max_subscriptions}
                      onChange={(event) => set("max_subscriptions", event.target.value)}
                    />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("max_upstream")}
                  label="Max upstream"
                  help="Contracts its subscriptions may make the hub subscribe upstream."
                  error={errors.max_upstream}
                >
                  {(control) => (
                    <Input
                      {...control}
                      inputMode="numeric"
                      className="tabular-nums"
                      value={values.max_upstream}
                      onChange={(event) => set("max_upstream", event.target.value)}
                    />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("requests_per_second")}
                  label="Requests per second"
                  help="Snapshot, gap-fill, resume and conflation requests."
                  error={errors.requests_per_second}
                >
                  {(control) => (
                    <Input
                      {...control}
                      inputMode="decimal"
                      className="tabular-nums"
                      value={values.requests_per_second}
                      onChange={(event) => set("requests_per_second", event.target.value)}
                    />
                  )}
                </FormField>

                <FormField
                  id={fieldDomId("public_key")}
                  label="Public key"
                  labelExtra={<span className="text-muted-foreground text-xs font-normal"> (optional)</span>}
                  help="Only if the client made its own pair (zmq.curve_keypair()): 40 characters, Z85. Empty: the hub makes one."
                  error={errors.public_key}
                >
                  {(control) => (
                    <Input
                      {...control}
                      className="font-mono text-xs"
                      value={values.public_key}
                      onChange={(event) => set("public_key", event.target.value)}
                      autoComplete="off"
                      spellCheck={false}
                    />
                  )}
                </FormField>

                <FormField id={fieldDomId("description")} label="Description" error={errors.description} className="sm:col-span-2">
                  {(control) => (
                    <Textarea {...control} value={values.description} onChange={(event) => set("description", event.target.value)} rows={2} />
                  )}
                </FormField>
              </fieldset>
            </form>

            <DialogFooter className="gap-2">
              <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
                Cancel
              </Button>
              <Button type="submit" form="stream-client-form" disabled={busy}>
                {busy ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
                Add client
              </Button>
            </DialogFooter>
          </>
        )}
      </DialogContent>
    </Dialog>
  );
}

/** The secret key, this once: the server does not store it and will never answer it again. */
export function SecretKeyOnce({ client, onDone }: { client: StreamClient; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(client.secret_key ?? "");
      setCopied(true);
    } catch {
      toast.error("The browser would not copy it: select the key and copy it by hand.");
    }
  }
  return (
    <>
      <DialogHeader>
        <DialogTitle className="flex items-center gap-2">
          <KeyRound className="size-5 text-amber-300" aria-hidden="true" />
          {client.name}&apos;s secret key
        </DialogTitle>
        <DialogDescription>
          Copy it now and give it to the client&apos;s owner: it is not stored, and this is the only time it is shown.
        </DialogDescription>
      </DialogHeader>
      <div className="grid gap-4">
        <FormField id="stream-client-secret-key" label="Secret key" help="The client's CurveKeys.from_secret(...).">
          {(control) => (
            <div className="flex gap-2">
              <Input
                {...control}
                readOnly
                value={client.secret_key ?? ""}
                className="font-mono text-xs"
                data-testid="secret-key"
                onFocus={(event) => event.currentTarget.select()}
              />
              <Button type="button" variant="outline" onClick={() => void copy()}>
                {copied ? <Check aria-hidden="true" /> : <Copy aria-hidden="true" />}
                {copied ? "Copied" : "Copy"}
              </Button>
            </div>
          )}
        </FormField>
        <FormField id="stream-client-new-public-key" label="Public key" help="Stored: the hub recognises the client by it.">
          {(control) => (
            <Input {...control} readOnly value={client.public_key} className="font-mono text-xs" data-testid="public-key" />
          )}
        </FormField>
        <p className="text-muted-foreground text-sm">
          The client also needs the hub&apos;s public key, which <code>runhub</code> prints at start (docs/access.md, “Add a
          client”).
        </p>
      </div>
      <DialogFooter>
        <Button type="button" onClick={onDone}>
          I have copied it
        </Button>
      </DialogFooter>
    </>
  );
}
