// @vitest-environment jsdom
//
// The one field wrapper the account form uses: label, control, help and error wired together.

import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { FormField } from "@/components/form-field";

afterEach(cleanup);

describe("FormField", () => {
  it("labels the control and points it at its help", () => {
    const { getByLabelText, container } = render(
      <FormField id="account-priority" label="Priority" help="Lower is preferred.">
        {(control) => <input {...control} />}
      </FormField>,
    );
    const input = getByLabelText("Priority");
    expect(input.id).toBe("account-priority");
    expect(input.getAttribute("aria-describedby")).toBe("account-priority-help");
    expect(input.hasAttribute("aria-invalid")).toBe(false);
    expect(container.querySelector("#account-priority-help")?.textContent).toBe("Lower is preferred.");
    expect(container.querySelector("[data-testid=field-error]")).toBeNull();
  });

  it("marks the control invalid and reads the error first", () => {
    const { getByLabelText, getByTestId } = render(
      <FormField id="account-settings-mdAddress" label="Market-data front" labelExtra={<span> (required)</span>} help="tcp://host:port" error="'x' is not an address">
        {(control) => <input {...control} />}
      </FormField>,
    );
    const input = getByLabelText(/^Market-data front/);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toBe("account-settings-mdAddress-error account-settings-mdAddress-help");
    expect(getByTestId("field-error").id).toBe("account-settings-mdAddress-error");
    expect(getByTestId("field-error").textContent).toBe("'x' is not an address");
  });

  it("gives a field without help or error no dangling reference", () => {
    const { getByLabelText } = render(
      <FormField id="account-description" label="Description">
        {(control) => <textarea {...control} />}
      </FormField>,
    );
    expect(getByLabelText("Description").hasAttribute("aria-describedby")).toBe(false);
  });
});
