/**
 * Reading one setting with Effect `Config` from the current `ConfigProvider`: every failure
 * becomes the setting's one-line {@link InvalidSetting}, quoting the raw value it got.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type InvalidSetting, invalidSetting, type SettingName, settingSpecs } from "./SettingSpecs.js"

const describeRaw = (name: SettingName) =>
  Config.option(Config.String(settingSpecs[name].env)).pipe(
    Effect.map((raw) => (Option.isSome(raw) ? `, got "${raw.value}"` : "")),
    Effect.orElseSucceed(() => "")
  )

/** Reads one setting; every Config failure becomes the setting's one-line error. */
export const read = <A>(name: SettingName, config: Config.Config<A>): Effect.Effect<A, InvalidSetting> =>
  Effect.catch(config, () =>
    describeRaw(name).pipe(
      Effect.flatMap((got) => Effect.fail(invalidSetting(name, `expected ${settingSpecs[name].expected}${got}`)))
    )
  )

/** An integer setting in `[minimum, maximum]`, `fallback` when unset. */
export const int = (name: SettingName, minimum: number, maximum: number, fallback: number) =>
  read(
    name,
    Config.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })), settingSpecs[name].env).pipe(
      Config.withDefault(fallback)
    )
  )

/** A non-empty string setting, `None` when unset. */
export const text = (name: SettingName) => read(name, Config.option(Config.NonEmptyString(settingSpecs[name].env)))
