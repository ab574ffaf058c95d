import type { ReactNode } from "react";

import { Label } from "@/components/ui/label";
import { cn } from "@/lib/utils";

/** What the control inside a FormField must carry so label, help and error reach assistive tech. */
export interface FieldControlProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

interface FormFieldProps {
  /** The control's DOM id; help and error get `${id}-help` / `${id}-error`. */
  id: string;
  label: ReactNode;
  /** After the label's text: "(required)", a secret's set / not set. */
  labelExtra?: ReactNode;
  help?: ReactNode;
  error?: string;
  /** Help beside the control (a switch) instead of under it. */
  inlineHelp?: boolean;
  className?: string;
  children: (control: FieldControlProps) => ReactNode;
}

/**
 * One form field: label, control, help and error, wired together (shadcn's Field pattern).
 * The control comes from a render function that gets the id and aria attributes, so any
 * control (input, select, switch, textarea) gets them the same way.
 */
export function FormField({ id, label, labelExtra, help, error, inlineHelp = false, className, children }: FormFieldProps) {
  const helpId = help ? `${id}-help` : null;
  const errorId = error ? `${id}-error` : null;
  const control = children({
    id,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": [errorId, helpId].filter(Boolean).join(" ") || undefined,
  });
  const helpText = help ? (
    <p id={helpId ?? undefined} className="text-muted-foreground text-xs">
      {help}
    </p>
  ) : null;
  return (
    <div className={cn("grid content-start gap-2", className)} data-testid={`field-${id}`}>
      <Label htmlFor={id}>
        {label}
        {labelExtra}
      </Label>
      {inlineHelp ? (
        <div className="flex h-9 items-center gap-3">
          {control}
          {helpText}
        </div>
      ) : (
        <>
          {control}
          {helpText}
        </>
      )}
      {error ? (
        <p id={errorId ?? undefined} className="text-sm text-red-300" data-testid="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
