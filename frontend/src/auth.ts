// The sign-up / sign-in panel shared by both pages.
import { authGet, authSet, GraphQLRequestError, request } from "./api";
import { Login, Logout, Register } from "./operations";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} missing from the page`);
  return found as T;
}

export function errorText(error: unknown): string {
  if (error instanceof GraphQLRequestError) return error.message;
  return "The server cannot be reached; try again.";
}

export function bindAuthPanel(endpoint: string): void {
  const form = element<HTMLFormElement>("auth-form");
  const signedIn = element<HTMLElement>("signed-in");
  const me = element<HTMLElement>("me");
  const failure = element<HTMLElement>("auth-error");
  const username = element<HTMLInputElement>("username");
  const password = element<HTMLInputElement>("password");

  const render = (): void => {
    const auth = authGet();
    form.hidden = auth !== null;
    signedIn.hidden = auth === null;
    me.textContent = auth ? auth.username : "";
  };

  form.addEventListener("submit", async (event: SubmitEvent) => {
    event.preventDefault();
    failure.textContent = "";
    const variables = { username: username.value.trim(), password: password.value };
    try {
      const payload =
        (event.submitter as HTMLButtonElement | null)?.value === "register"
          ? (await request(endpoint, Register, variables)).register
          : (await request(endpoint, Login, variables)).login;
      password.value = "";
      authSet({ token: payload.token, username: payload.user.username });
    } catch (error) {
      failure.textContent = errorText(error);
    }
  });

  element<HTMLButtonElement>("sign-out").addEventListener("click", async () => {
    try {
      await request(endpoint, Logout, {});
    } catch {
      // The token is forgotten here whether or not the server could revoke it.
    }
    authSet(null);
  });

  window.addEventListener("chat:auth", render);
  window.addEventListener("storage", render);
  render();
}

export { element };
